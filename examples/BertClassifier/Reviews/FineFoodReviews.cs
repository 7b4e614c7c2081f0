using System.Globalization;
using System.Text;

namespace BertClassifierExample.Reviews;

/// <summary>One Amazon fine-food review and its class: 0 "great" (five stars), 1 "other".</summary>
internal sealed record Review(string Text, int Label);

/// <summary>
/// The 5,000 labelled Amazon fine-food reviews of R's modeldata package (<c>small_fine_foods</c>: 4,000 in
/// <c>training_data</c>, 1,000 in <c>testing_data</c>; columns product, review, score ∈ {great, other}), read from the
/// package's lazy-load database (Debian's r-cran-modeldata; <c>apt-get download r-cran-modeldata</c> and
/// <c>dpkg-deb -x</c> give the files without R), or from the converted sample shipped in examples/BertClassifier/sample
/// (two TSV files, label then text) when the package is absent.
/// </summary>
internal sealed class FineFoodReviews
{
    public static readonly IReadOnlyList<string> Classes = new[] { "great", "other" };

    /// <summary>Where the data sets of an installed modeldata are, then where .ci/run unpacks the Debian package.</summary>
    public static readonly IReadOnlyList<string> PackageFolders = new[]
    {
        "/usr/lib/R/site-library/modeldata/data",
        "/opt/r-cran-modeldata/usr/lib/R/site-library/modeldata/data",
    };

    public const string TrainFile = "reviews_train.tsv", TestFile = "reviews_test.tsv";

    private FineFoodReviews(IReadOnlyList<Review> train, IReadOnlyList<Review> test, string source)
    {
        Train = train;
        Test = test;
        Source = source;
    }

    public IReadOnlyList<Review> Train { get; }

    public IReadOnlyList<Review> Test { get; }

    /// <summary>The file or folder the reviews came from.</summary>
    public string Source { get; }

    /// <summary>
    /// The reviews from <paramref name="folder"/> (a modeldata data folder with Rdata.rdx, or a folder with the two
    /// TSV files), else from the first package folder that exists, else from <paramref name="sample"/>.
    /// </summary>
    public static FineFoodReviews Load(string? folder, string sample)
    {
        if (folder is null)
            folder = PackageFolders.FirstOrDefault(f => File.Exists(Path.Combine(f, "Rdata.rdx"))) ?? sample;
        if (File.Exists(Path.Combine(folder, "Rdata.rdx"))) return FromPackage(Path.Combine(folder, "Rdata.rdx"));
        if (File.Exists(Path.Combine(folder, TrainFile))) return FromTsv(folder);
        throw new DirectoryNotFoundException($"{folder}: neither modeldata's Rdata.rdx nor {TrainFile} is there");
    }

    /// <summary>training_data and testing_data of the lazy-load database whose index is <paramref name="rdx"/>.</summary>
    public static FineFoodReviews FromPackage(string rdx)
    {
        var database = LazyLoadDatabase.Open(rdx);
        string rdb = Path.ChangeExtension(rdx, ".rdb");
        return new FineFoodReviews(Reviews(database.Read("training_data"), $"{rdb}, training_data"),
            Reviews(database.Read("testing_data"), $"{rdb}, testing_data"), rdx);
    }

    /// <summary>The reviews of one tibble/data frame with a character column 'review' and a factor 'score'.</summary>
    internal static IReadOnlyList<Review> Reviews(RValue table, string what)
    {
        if (table is not RList columns || !table.Classes.Contains("data.frame"))
            throw new InvalidDataException($"{what}: not a data frame");
        var names = table.Attribute("names") is RStrings n ? n.Values : throw new InvalidDataException($"{what}: a data frame without column names");
        RValue Column(string name) => Array.IndexOf(names, name) is >= 0 and var i && i < columns.Values.Length ? columns.Values[i]
            : throw new InvalidDataException($"{what}: no column '{name}' (columns: {string.Join(", ", names)})");
        if (Column("review") is not RStrings texts) throw new InvalidDataException($"{what}: the column 'review' is not text");
        if (Column("score") is not RIntegers { Logical: false } score || !score.Classes.Contains("factor")
            || score.Attribute("levels") is not RStrings { Values: var levels })
            throw new InvalidDataException($"{what}: the column 'score' is not a factor");
        if (!levels.SequenceEqual(Classes))
            throw new InvalidDataException($"{what}: the score levels are {string.Join(", ", levels)}, not {string.Join(", ", Classes)}");
        if (score.Values.Length != texts.Values.Length)
            throw new InvalidDataException($"{what}: {texts.Values.Length} reviews but {score.Values.Length} scores");
        var reviews = new Review[texts.Values.Length];
        for (int i = 0; i < reviews.Length; i++)
        {
            int code = score.Values[i];
            if (code < 1 || code > levels.Length) throw new InvalidDataException($"{what}: row {i + 1} has no score (factor code {(code == RIntegers.NA ? "NA" : code)})");
            string text = texts.Values[i] ?? throw new InvalidDataException($"{what}: row {i + 1}'s review is NA");
            reviews[i] = new Review(Clean(text), code - 1);
        }
        return reviews;
    }

    /// <summary>
    /// The text as the models see it: the reviews' HTML line breaks (<c>&lt;br /&gt;</c>) and any tab or line end become
    /// one space (else the tokenizer reads '&lt;', 'br', '/', '&gt;'), and the ends are trimmed.
    /// </summary>
    public static string Clean(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (string.CompareOrdinal(text, i, "<br />", 0, 6) == 0) { builder.Append(' '); i += 5; }
            else if (text[i] is '\t' or '\n' or '\r') builder.Append(' ');
            else builder.Append(text[i]);
        }
        return builder.ToString().Trim();
    }

    /// <summary>The shipped sample: reviews_train.tsv and reviews_test.tsv, each line "great|other TAB text".</summary>
    public static FineFoodReviews FromTsv(string folder) =>
        new(ReadTsv(Path.Combine(folder, TrainFile)), ReadTsv(Path.Combine(folder, TestFile)), folder);

    private static IReadOnlyList<Review> ReadTsv(string path)
    {
        var reviews = new List<Review>();
        int line = 0;
        foreach (string text in File.ReadLines(path, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            line++;
            if (text.Length == 0) continue;
            int tab = text.IndexOf('\t');
            int label = tab < 0 ? -1 : IndexOf(text.AsSpan(0, tab));
            if (label < 0 || tab == text.Length - 1)
                throw new InvalidDataException($"{path}:{line}: expected 'great' or 'other', a tab, then the review");
            reviews.Add(new Review(text[(tab + 1)..], label));
        }
        if (reviews.Count == 0) throw new InvalidDataException($"{path}: no reviews");
        return reviews;
    }

    private static int IndexOf(ReadOnlySpan<char> label)
    {
        for (int i = 0; i < Classes.Count; i++)
            if (label.SequenceEqual(Classes[i])) return i;
        return -1;
    }

    /// <summary>
    /// Writes the sample: <paramref name="trainCount"/> training and <paramref name="testCount"/> test reviews, a seeded
    /// choice (each part in its original order), as the two TSV files in <paramref name="folder"/>.
    /// </summary>
    public void WriteSample(string folder, int trainCount, int testCount, int seed)
    {
        Directory.CreateDirectory(folder);
        Write(Path.Combine(folder, TrainFile), Choose(Train, trainCount, seed));
        Write(Path.Combine(folder, TestFile), Choose(Test, testCount, seed + 1));

        static IEnumerable<Review> Choose(IReadOnlyList<Review> reviews, int count, int seed)
        {
            var rows = Enumerable.Range(0, reviews.Count).ToArray();
            new Random(seed).Shuffle(rows);
            return rows.Take(Math.Min(count, rows.Length)).Order().Select(i => reviews[i]);
        }

        static void Write(string path, IEnumerable<Review> reviews) =>
            File.WriteAllLines(path, reviews.Select(r => string.Create(CultureInfo.InvariantCulture, $"{Classes[r.Label]}\t{r.Text}")), new UTF8Encoding(false));
    }
}
