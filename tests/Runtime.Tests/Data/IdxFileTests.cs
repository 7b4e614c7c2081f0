using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Data;

public class IdxFileTests
{
    // Headers below are spelled out byte by byte from the IDX description, not produced by IdxWriter.
    private static readonly byte[] Labels3 = [0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x03, /* data */ 7, 0, 255];

    private static readonly byte[] Images2x2x3 =
    [
        0x00, 0x00, 0x08, 0x03,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03,
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];

    [Fact]
    public void Reads_hand_built_unsigned_byte_vector()
    {
        IdxFile file = IdxFile.Parse(Labels3, "labels");
        Assert.Equal(IdxDataType.UnsignedByte, file.DataType);
        Assert.Equal([3], file.Dimensions);
        Assert.Equal(3, file.Count);
        Assert.Equal([7, 0, 255], file.ToInt32Array());
        Assert.Equal([7f, 0f, 255f], file.ToSingleArray());
    }

    [Fact]
    public void Reads_hand_built_rank_3_images()
    {
        IdxFile file = IdxFile.Parse(Images2x2x3, "images");
        Assert.Equal([2, 2, 3], file.Dimensions);
        Assert.Equal(12, file.ElementCount);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (byte)i).ToArray(), file.Data.ToArray());
        Assert.Equal(0.5f * 12, file.ToSingleArray(0.5f)[11]);
    }

    [Fact]
    public void Reads_big_endian_multi_byte_types()
    {
        byte[] int16 = [0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x00];
        Assert.Equal([-2, 256], IdxFile.Parse(int16, "a").ToInt32Array());

        byte[] int32 = [0, 0, 0x0C, 1, 0, 0, 0, 2, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Equal([65536, -1], IdxFile.Parse(int32, "b").ToInt32Array());

        byte[] sbyteFile = [0, 0, 0x09, 1, 0, 0, 0, 2, 0x80, 0x7F];
        Assert.Equal([-128, 127], IdxFile.Parse(sbyteFile, "c").ToInt32Array());

        byte[] float32 = [0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x3F, 0xC0, 0, 0, 0xC0, 0x20, 0, 0]; // 1.5, -2.5
        Assert.Equal([1.5f, -2.5f], IdxFile.Parse(float32, "d").ToSingleArray());

        byte[] float64 = [0, 0, 0x0E, 1, 0, 0, 0, 1, 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18]; // pi
        Assert.Equal(MathF.PI, IdxFile.Parse(float64, "e").ToSingleArray()[0]);
        Assert.Throws<InvalidOperationException>(() => IdxFile.Parse(float64, "e").ToInt32Array());
    }

    [Fact]
    public void Zero_items_is_a_valid_file()
    {
        byte[] empty = [0, 0, 0x08, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28];
        IdxFile file = IdxFile.Parse(empty, "empty");
        Assert.Equal(0, file.Count);
        Assert.Empty(file.ToSingleArray());
    }

    [Theory]
    [InlineData(IdxDataType.UnsignedByte, new[] { 4, 3 }, 1)]
    [InlineData(IdxDataType.SignedByte, new[] { 5 }, 1)]
    [InlineData(IdxDataType.Int16, new[] { 2, 3, 2 }, 2)]
    [InlineData(IdxDataType.Int32, new[] { 1, 2, 3, 4 }, 4)]
    [InlineData(IdxDataType.Float32, new[] { 3, 3 }, 4)]
    [InlineData(IdxDataType.Float64, new[] { 2 }, 8)]
    public void Writer_output_matches_the_spec_and_reads_back(IdxDataType type, int[] dims, int size)
    {
        byte[] data = Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b) * size).Select(i => (byte)(i * 7)).ToArray();
        byte[] encoded = IdxWriter.Encode(type, dims, data);

        // The header, checked against the spec byte by byte.
        Assert.Equal([0, 0, (byte)type, (byte)dims.Length], encoded[..4]);
        for (int i = 0; i < dims.Length; i++)
            Assert.Equal(new byte[] { 0, 0, (byte)(dims[i] >> 8), (byte)dims[i] }, encoded[(4 + 4 * i)..(8 + 4 * i)]);

        foreach (bool gzip in new[] { false, true })
        {
            IdxFile file = IdxFile.Parse(gzip ? IdxWriter.Encode(type, dims, data, gzip: true) : encoded, "x");
            Assert.Equal(type, file.DataType);
            Assert.Equal(dims, file.Dimensions);
            Assert.Equal(data, file.Data.ToArray());
        }
    }

    [Fact]
    public void Gzip_and_plain_files_load_the_same_and_gzip_is_detected_by_content()
    {
        using var temp = new TempFolder();
        string plain = temp.Write("images-idx3-ubyte", Images2x2x3);
        string gz = temp.Write("images-idx3-ubyte.gz", TestFiles.Gzip(Images2x2x3));
        string gzNoSuffix = temp.Write("gzipped-without-suffix", TestFiles.Gzip(Images2x2x3));
        string plainWithSuffix = temp.Write("plain-but-named.gz", Images2x2x3);

        byte[] expected = IdxFile.Read(plain).Data.ToArray();
        foreach (string path in new[] { gz, gzNoSuffix, plainWithSuffix })
        {
            IdxFile file = IdxFile.Read(path);
            Assert.Equal([2, 2, 3], file.Dimensions);
            Assert.Equal(expected, file.Data.ToArray());
        }
    }

    public static TheoryData<byte[], string> CorruptFiles() => new()
    {
        { [], "f.idx: empty file" },
        { [0, 0, 8], "f.idx: truncated header: 3 bytes, an IDX header needs at least 4" },
        { [0x50, 0x4B, 3, 4, 0, 0], "f.idx: bad magic: an IDX file starts with 00 00, this one with 50 4B" },
        { [0, 0, 0x07, 1, 0, 0, 0, 1, 0], "f.idx: unsupported data type 0x07 (IDX defines 0x08, 0x09, 0x0B, 0x0C, 0x0D and 0x0E)" },
        { [0, 0, 0x08, 0], "f.idx: unsupported rank 0 (expected 1 to 4 dimensions)" },
        { [0, 0, 0x08, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9], "f.idx: unsupported rank 5 (expected 1 to 4 dimensions)" },
        { [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0], "f.idx: truncated header: rank 3 needs 16 header bytes but the file has 10" },
        { [0, 0, 0x08, 2, 0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFB], "f.idx: dimension 2 of 2 is negative (-5)" },
        { [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5], "f.idx: truncated: header declares 2×3 = 6 bytes of data but only 5 follow" },
        { [0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0], "f.idx: truncated: header declares 2 int32 values = 8 bytes of data but only 6 follow" },
        { [0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3, 4, 5], "f.idx: trailing garbage: header declares 2 = 2 bytes of data but 5 follow (3 extra bytes)" },
        {
            // 2^31-1 cubed: a header claiming far more than any file; must be refused without allocating for it.
            [0, 0, 0x08, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2],
            $"f.idx: truncated: header declares 2147483647×2147483647×2147483647 = more than the limit of {Array.MaxLength} bytes of data but only 2 follow"
        },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Corrupt_files_give_a_specific_message(byte[] bytes, string message)
    {
        using var temp = new TempFolder();
        string path = temp.Write("f.idx", bytes);
        Assert.Equal(message, Assert.Throws<InvalidDataException>(() => IdxFile.Read(path)).Message);

        // The same problem inside a gzip stream reads the same (except an empty file, which gzip makes non-empty).
        if (bytes.Length > 0)
            Assert.Equal(message, Assert.Throws<InvalidDataException>(() => IdxFile.Parse(TestFiles.Gzip(bytes), "f.idx")).Message);
    }

    [Fact]
    public void Truncation_message_names_the_real_file_as_in_the_docs()
    {
        // 10000×28×28 header with only 5000 bytes of pixels, gzipped, under the real name.
        byte[] header = [0, 0, 0x08, 3, 0x00, 0x00, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28];
        using var temp = new TempFolder();
        string path = temp.Write("t10k-images-idx3-ubyte.gz", TestFiles.Gzip(TestFiles.Concat(header, new byte[5000])));
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.Equal("t10k-images-idx3-ubyte.gz: truncated: header declares 10000×28×28 = 7840000 bytes of data but only 5000 follow", ex.Message);
    }

    [Fact]
    public void Corrupt_gzip_stream_names_the_file()
    {
        byte[] gz = TestFiles.Gzip(TestFiles.Concat(Images2x2x3, new byte[4096]));
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5A; // scramble the deflate body, keep the gzip header
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.Parse(gz, "broken.gz"));
        Assert.StartsWith("broken.gz: ", ex.Message);
    }

    [Fact]
    public void Cut_off_gzip_file_is_reported_not_misread()
    {
        byte[] gz = TestFiles.Gzip(TestFiles.Concat([0, 0, 0x08, 1, 0, 0, 0x10, 0], Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray()));
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.Parse(gz[..(gz.Length / 2)], "cut.gz"));
        Assert.StartsWith("cut.gz: ", ex.Message);
    }
}
