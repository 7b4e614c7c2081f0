using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime.Data;
using ModelDsl.Runtime.Tests.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class FortunesTests
{
    internal static string Sample => Path.Combine(TestFiles.RepositoryRoot(), Fortunes.SampleFolder);

    [Fact]
    public void Shipped_sample_holds_300_fortunes_of_each_default_class()
    {
        FortuneCorpus corpus = Fortunes.Read(new DataFolder(Sample, DataFolderSource.Sample), FortuneClassification.DefaultClasses);

        Assert.Equal(FortuneClassification.DefaultClasses, corpus.Files);
        Assert.All(corpus.CountsByFile(), c => Assert.Equal(300, c.Count));
        Assert.Equal(0, corpus.DuplicatesDropped);
        Assert.Equal((958, 124, 118), (corpus.In(DataSplit.Train).Count(), corpus.In(DataSplit.Validation).Count(), corpus.In(DataSplit.Test).Count()));
        Assert.StartsWith("A can of ASPARAGUS", corpus.Items.First(f => f.File == "zippy").Text);
        // The files carry terminal overstrikes; none survives loading.
        Assert.DoesNotContain(corpus.Items, f => f.Text.Any(c => char.IsControl(c) && c is not '\n' and not '\t'));
    }

    [Fact]
    public void Sample_is_small_enough_to_commit()
    {
        long bytes = new DirectoryInfo(Sample).GetFiles().Sum(f => f.Length);
        Assert.InRange(bytes, 100_000, 300_000);
    }

    [Fact]
    public void Loading_every_file_skips_indexes_links_and_docs()
    {
        using var folder = new TempFolder();
        folder.WriteText("b", "bee\n%\nshared\n%\n");
        folder.WriteText("a", "ay\n%\nshared\n%\nay\n%\n");
        folder.Write("a.dat", [0, 0, 0, 2, 0xFF]);            // strfile's binary index
        folder.WriteText("a.u8", "not read\n%\n");           // Debian's UTF-8 alias
        folder.WriteText("README.md", "# not a fortune\n");
        folder.WriteText(".hidden", "not read\n%\n");
        Directory.CreateDirectory(Path.Combine(folder.Path, "off"));
        File.WriteAllText(Path.Combine(folder.Path, "off", "c"), "offensive\n%\n");

        FortuneCorpus corpus = Fortunes.Load(folder.Path);

        Assert.Equal(["a", "b"], corpus.Files);
        // Duplicates go, within a file and across files; the first file listed keeps a shared fortune.
        Assert.Equal([("ay", "a"), ("shared", "a"), ("bee", "b")], corpus.Items.Select(f => (f.Text, f.File)));
        Assert.Equal(2, corpus.DuplicatesDropped);
        Assert.Equal(DataFolderSource.Explicit, corpus.Folder.Source);
        Assert.All(corpus.Items, f => Assert.Equal(TextSplit.Of(f.Text), f.Split));
    }

    [Fact]
    public void Chosen_files_load_in_the_order_given()
    {
        using var folder = new TempFolder();
        folder.WriteText("a", "shared\n%\n");
        folder.WriteText("b", "shared\n%\nbee\n%\n");

        FortuneCorpus corpus = Fortunes.Load(folder.Path, ["b", "a"]);

        Assert.Equal(["b", "a"], corpus.Files);
        Assert.Equal([("shared", "b"), ("bee", "b")], corpus.Items.Select(f => (f.Text, f.File)));
        Assert.Equal([("b", 2), ("a", 0)], corpus.CountsByFile());
    }

    [Fact]
    public void Missing_and_bad_files_are_reported()
    {
        using var folder = new TempFolder();
        folder.WriteText("a", "ay\n%\n");
        folder.Write("bad", [0x6F, 0x6B, 0x0A, 0x25, 0x0A, 0xFF]);

        var missing = Assert.Throws<FileNotFoundException>(() => Fortunes.Load(folder.Path, ["a", "zippy"]));
        Assert.Contains("no fortune file \"zippy\"; it has a, bad", missing.Message);
        var bad = Assert.Throws<InvalidDataException>(() => Fortunes.Load(folder.Path));
        Assert.StartsWith("bad: invalid UTF-8 at byte offset 5", bad.Message);
        Assert.Throws<ArgumentException>(() => Fortunes.Load(folder.Path, ["a", "a"]));
        Assert.Throws<ArgumentException>(() => Fortunes.Load(folder.Path, ["../a"]));
        using var empty = new TempFolder();
        Assert.Throws<FileNotFoundException>(() => Fortunes.Read(new DataFolder(empty.Path, DataFolderSource.Explicit)));
    }

    [Fact]
    public void Resolve_prefers_explicit_then_system_then_sample()
    {
        using var empty = new TempFolder();
        string root = TestFiles.RepositoryRoot();
        string[] classes = [.. FortuneClassification.DefaultClasses];

        Assert.Equal(DataFolderSource.Explicit, Fortunes.ResolveFolder(empty.Path, classes, Sample, [root]).Source);

        // The sample stands in for a system installation: any folder holding the wanted files qualifies.
        DataFolder system = Fortunes.ResolveFolder(null, classes, Sample, [root]);
        Assert.Equal((Sample, DataFolderSource.System), (system.Path, system.Source));

        // A system folder without the wanted files (fortunes-min has only "fortunes") falls through to the sample.
        using var minimal = new TempFolder();
        minimal.WriteText("fortunes", "You will be fine.\n%\n");
        DataFolder sample = Fortunes.ResolveFolder(null, classes, minimal.Path, [Path.Combine(root, "tests", "Runtime.Tests")]);
        Assert.Equal((Path.GetFullPath(Sample), DataFolderSource.Sample), (sample.Path, sample.Source));
        Assert.Equal(DataFolderSource.System, Fortunes.ResolveFolder(null, null, minimal.Path, [root]).Source);

        var none = Assert.Throws<DirectoryNotFoundException>(() => Fortunes.ResolveFolder(null, ["zippy"], empty.Path, [empty.Path]));
        Assert.Contains("apt-get install fortunes", none.Message);
        Assert.Throws<DirectoryNotFoundException>(() => Fortunes.ResolveFolder(Path.Combine(empty.Path, "nope"), null, Sample, [root]));
    }

    [Fact]
    public void Default_resolution_finds_data_from_the_test_directory()
    {
        DataFolder folder = Fortunes.ResolveFolder(null, FortuneClassification.DefaultClasses);
        bool installed = Fortunes.HasFiles(Fortunes.SystemFolder, FortuneClassification.DefaultClasses);
        Assert.Equal(installed ? DataFolderSource.System : DataFolderSource.Sample, folder.Source);
    }

    [Fact]
    public void Debian_package_loads_when_installed()
    {
        if (!Fortunes.HasFiles(Fortunes.SystemFolder, FortuneClassification.DefaultClasses))
            return; // not installed here: the sample tests above cover the format
        FortuneCorpus corpus = Fortunes.Load();
        Assert.True(corpus.Count > 10_000, corpus.ToString());
        FortuneCorpus four = Fortunes.Load(null, FortuneClassification.DefaultClasses);
        Assert.Equal([("computers", 1051), ("men-women", 581), ("songs-poems", 718), ("zippy", 548)], four.CountsByFile());
    }

    [Fact]
    public void Joined_text_follows_each_fortune_with_the_separator()
    {
        using var folder = new TempFolder();
        folder.WriteText("a", string.Join("\n%\n", Enumerable.Range(0, 40).Select(i => $"fortune {i}")));
        FortuneCorpus corpus = Fortunes.Load(folder.Path);

        string train = corpus.JoinedText(DataSplit.Train);
        Assert.Equal(string.Concat(corpus.In(DataSplit.Train).Select(f => f.Text + "\n%\n")), train);
        Assert.Equal(string.Concat(corpus.In(DataSplit.Test).Select(f => f.Text + "|")), corpus.JoinedText(DataSplit.Test, "|"));
    }
}
