using System.Buffers.Binary;
using System.IO.Compression;
using BertClassifierExample.Reviews;

namespace ModelDsl.BertClassifier.Tests;

/// <summary>
/// The reader of R's lazy-load databases and serialization (examples/BertClassifier/Reviews) on a small database in
/// modeldata's layout, on the real r-cran-modeldata package where it is unpacked (always in CI), and on corrupt input.
/// </summary>
public sealed class ReviewDataTests
{
    [Fact]
    public void Reads_the_fixture_database_like_the_sample_it_was_made_from()
    {
        var database = LazyLoadDatabase.Open(Fixtures.Rdx);
        Assert.Equal(new[] { "testing_data", "training_data" }, database.Names);
        var reviews = FineFoodReviews.FromPackage(Fixtures.Rdx);
        var sample = FineFoodReviews.FromTsv(Fixtures.Sample);
        Assert.Equal(12, reviews.Train.Count);
        Assert.Equal(6, reviews.Test.Count);
        Assert.Equal(sample.Train.Take(12), reviews.Train);
        Assert.Equal(sample.Test.Take(6), reviews.Test);
        Assert.Contains(reviews.Train, r => r.Label == 0);
        Assert.Contains(reviews.Train, r => r.Label == 1);
        // The tibble's attributes come through: its class, and the factor's levels.
        var table = database.Read("training_data");
        Assert.Equal(new[] { "tbl_df", "tbl", "data.frame" }, table.Classes);
        var score = (RIntegers)((RList)table).Values[2];
        Assert.Equal(new[] { "great", "other" }, ((RStrings)score.Attribute("levels")!).Values);
        Assert.Equal(new[] { RIntegers.NA, -12 }, ((RIntegers)table.Attribute("row.names")!).Values);
    }

    [Fact]
    public void Reads_the_real_modeldata_package()
    {
        if (Fixtures.RealPackage() is not { } folder) return;
        var reviews = FineFoodReviews.FromPackage(Path.Combine(folder, "Rdata.rdx"));
        Assert.Equal(4000, reviews.Train.Count);
        Assert.Equal(1000, reviews.Test.Count);
        // modeldata 1.1.0's small_fine_foods: 2,600 "great" of 4,000 training reviews, 658 of 1,000 test reviews
        // (counted independently with Python from the decompressed record; its documentation gives the 4,000/1,000 split and the two levels).
        Assert.Equal(2600, reviews.Train.Count(r => r.Label == 0));
        Assert.Equal(658, reviews.Test.Count(r => r.Label == 0));
        Assert.Contains(reviews.Train, r => r.Text.StartsWith("I absolutely LOVE this dried fruit.  LOVE IT.  Whenever", StringComparison.Ordinal));
        Assert.DoesNotContain(reviews.Train, r => r.Text.Contains("<br />", StringComparison.Ordinal));
        // The shipped sample is what make_sample.sh wrote from these reviews.
        var sample = FineFoodReviews.FromTsv(Fixtures.Sample);
        Assert.All(sample.Train, r => Assert.Contains(r, reviews.Train));
        Assert.All(sample.Test, r => Assert.Contains(r, reviews.Test));
    }

    [Fact]
    public void A_truncated_record_file_is_an_error_naming_the_record_and_its_offset()
    {
        string rdx = Fixtures.CopyOfFixture();
        string rdb = Path.ChangeExtension(rdx, ".rdb");
        var bytes = File.ReadAllBytes(rdb);
        File.WriteAllBytes(rdb, bytes[..^10]);
        var ex = Assert.Throws<InvalidDataException>(() => LazyLoadDatabase.Open(rdx));
        Assert.Contains(rdx, ex.Message);
        Assert.Contains("the record of 'training_data'", ex.Message);
        Assert.Contains("lies outside " + rdb, ex.Message);
    }

    [Fact]
    public void An_unknown_compression_method_names_the_file_record_and_byte()
    {
        string rdx = Fixtures.CopyOfFixture();
        string rdb = Path.ChangeExtension(rdx, ".rdb");
        var bytes = File.ReadAllBytes(rdb);
        Assert.Equal((byte)'Z', bytes[4]); // testing_data is the first record
        bytes[4] = (byte)'Q';
        File.WriteAllBytes(rdb, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => LazyLoadDatabase.Open(rdx).Read("testing_data"));
        Assert.Equal($"{rdb}, record 'testing_data' at byte 0: compression method byte 0x51 at byte 4 of the record ('Z', '2', '1' or '0' expected)", ex.Message);
    }

    [Fact]
    public void Corrupt_compressed_data_is_an_error_naming_the_record()
    {
        string rdx = Fixtures.CopyOfFixture();
        string rdb = Path.ChangeExtension(rdx, ".rdb");
        var bytes = File.ReadAllBytes(rdb);
        for (int i = 12; i < 60; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(rdb, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => FineFoodReviews.FromPackage(rdx));
        Assert.StartsWith($"{rdb}, record 'testing_data' at byte 0: ", ex.Message);
    }

    [Fact]
    public void A_missing_object_names_what_the_database_has()
    {
        var ex = Assert.Throws<InvalidDataException>(() => LazyLoadDatabase.Open(Fixtures.Rdx).Read("small_fine_foods"));
        Assert.Contains("has no object 'small_fine_foods' (it has testing_data, training_data)", ex.Message);
    }

    [Fact]
    public void Truncated_serialization_names_the_source_and_the_byte_offset()
    {
        var serialized = Serialized(LazyLoadDatabase.Open(Fixtures.Rdx), "testing_data");
        var ex = Assert.Throws<InvalidDataException>(() => RSerializationReader.Read(serialized[..100], "cut.rds"));
        Assert.StartsWith("cut.rds: the data ends after 100 bytes where ", ex.Message);
        Assert.Matches(@"at byte \d+ of the serialized value$", ex.Message);
    }

    [Fact]
    public void A_vector_longer_than_the_data_is_refused_before_allocating()
    {
        // X\n, version 3, two versions, "UTF-8", then an integer vector claiming 2^30 elements.
        var bytes = new List<byte> { (byte)'X', (byte)'\n' };
        foreach (int v in new[] { 3, 0x040202, 0x030500, 5 }) bytes.AddRange(BigEndian(v));
        bytes.AddRange("UTF-8"u8.ToArray());
        bytes.AddRange(BigEndian(13));
        bytes.AddRange(BigEndian(1 << 30));
        var ex = Assert.Throws<InvalidDataException>(() => RSerializationReader.Read(bytes.ToArray(), "big.rds"));
        Assert.Equal("big.rds: a vector of 1,073,741,824 elements, more than the 0 bytes left can hold at byte 23 of the serialized value", ex.Message);
    }

    [Fact]
    public void Unsupported_values_and_formats_are_named()
    {
        var header = new List<byte> { (byte)'X', (byte)'\n' };
        foreach (int v in new[] { 2, 0x040202, 0x020300 }) header.AddRange(BigEndian(v));
        var environment = header.Concat(BigEndian(4)).ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => RSerializationReader.Read(environment, "env.rds"));
        Assert.Equal("env.rds: an R value of type 4 (ENVSXP), which this reader does not read (it reads data frames of strings, numbers and factors) at byte 14 of the serialized value", ex.Message);

        var ascii = Assert.Throws<InvalidDataException>(() => RSerializationReader.Read("A\n3\n"u8.ToArray(), "a.rds"));
        Assert.Equal("a.rds: R's ASCII serialization, only the XDR form R writes by default is read at byte 0 of the serialized value", ascii.Message);
        var text = Assert.Throws<InvalidDataException>(() => RSerializationReader.Read("hello"u8.ToArray(), "t.txt"));
        Assert.StartsWith("t.txt: not R serialization", text.Message);
    }

    [Fact]
    public void A_bad_sample_line_names_the_file_and_line()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"bert-tsv-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, FineFoodReviews.TrainFile), new[] { "great\tgood", "fine\tno label" });
        File.WriteAllLines(Path.Combine(folder, FineFoodReviews.TestFile), new[] { "other\tmeh" });
        var ex = Assert.Throws<InvalidDataException>(() => FineFoodReviews.FromTsv(folder));
        Assert.Equal($"{Path.Combine(folder, FineFoodReviews.TrainFile)}:2: expected 'great' or 'other', a tab, then the review", ex.Message);
    }

    [Theory]
    [InlineData("Great.<br /><br />Buy it", "Great.  Buy it")]
    [InlineData("tab\there\r\nnext ", "tab here  next")]
    public void Cleaning_turns_html_breaks_and_line_ends_into_spaces(string raw, string clean) =>
        Assert.Equal(clean, FineFoodReviews.Clean(raw));

    private static IEnumerable<byte> BigEndian(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        return b;
    }

    // The decompressed serialization of one record of the database (what RSerializationReader reads).
    private static byte[] Serialized(LazyLoadDatabase database, string name)
    {
        var rdb = File.ReadAllBytes(Path.ChangeExtension(Fixtures.Rdx, ".rdb"));
        Assert.Equal(name, database.Names.First());
        // The first record starts the file; its header says how many bytes to decode, the rest of the file is not read.
        return LazyLoadDatabase.DecompressRecord(rdb, 3, "fixture");
    }
}
