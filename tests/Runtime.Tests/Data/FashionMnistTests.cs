using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Tests.Data;

public class FashionMnistTests
{
    private static string Sample => Path.Combine(TestFiles.RepositoryRoot(), FashionMnist.SampleFolder);

    [Fact]
    public void Shipped_sample_loads_with_the_documented_counts()
    {
        FashionMnistData data = FashionMnist.Load(new DataFolder(Sample, DataFolderSource.Sample));

        Assert.Equal(2000, data.Train.Count);
        Assert.Equal(500, data.Test.Count);
        foreach (LabeledImages split in new[] { data.Train, data.Test })
        {
            Assert.Equal((28, 28, 784, 10), (split.Height, split.Width, split.FeatureCount, split.ClassCount));
            Assert.Equal(split.Count * 784, split.Features.Length);
            Assert.All(split.Labels, l => Assert.InRange(l, 0, 9));
            Assert.All(split.Features, p => Assert.InRange(p, 0f, 1f));
            Assert.Equal(1f, split.Features.Max()); // scaled by 255, and 255 occurs
        }

        // Stratified: 200 / 50 of every class. The first items are those of the full set (both start with an ankle boot).
        Assert.All(data.Train.Labels.GroupBy(l => l), g => Assert.Equal(200, g.Count()));
        Assert.All(data.Test.Labels.GroupBy(l => l), g => Assert.Equal(50, g.Count()));
        Assert.Equal([9, 0, 0, 3, 0, 2, 7, 2, 5, 5], data.Train.Labels[..10]);
        Assert.Equal([9, 2, 1, 1, 6, 1, 4, 6, 5, 7], data.Test.Labels[..10]);
        Assert.Equal("Ankle boot", FashionMnist.ClassNames[data.Train.Labels[0]]);
    }

    [Fact]
    public void Sample_is_small_enough_to_commit()
    {
        long bytes = Directory.GetFiles(Sample, "*.gz").Sum(f => new FileInfo(f).Length);
        Assert.InRange(bytes, 1, 2_000_000);
    }

    [Fact]
    public void Resolve_prefers_explicit_then_system_then_sample()
    {
        using var empty = new TempFolder();
        string root = TestFiles.RepositoryRoot();

        DataFolder given = FashionMnist.ResolveFolder(empty.Path, Sample, [root]);
        Assert.Equal(DataFolderSource.Explicit, given.Source);

        // The sample folder stands in for a system installation here: anything holding both splits qualifies.
        DataFolder system = FashionMnist.ResolveFolder(null, Sample, [root]);
        Assert.Equal((Sample, DataFolderSource.System), (system.Path, system.Source));

        DataFolder sample = FashionMnist.ResolveFolder(null, empty.Path, [Path.Combine(root, "tests", "Runtime.Tests")]);
        Assert.Equal(DataFolderSource.Sample, sample.Source);
        Assert.Equal(Path.GetFullPath(Sample), sample.Path);
        Assert.Contains("sample", sample.ToString());
    }

    [Fact]
    public void Resolve_reports_what_is_missing()
    {
        using var empty = new TempFolder();
        Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.ResolveFolder(Path.Combine(empty.Path, "nope"), empty.Path, []));
        var ex = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.ResolveFolder(null, empty.Path, [empty.Path]));
        Assert.Contains("dataset-fashion-mnist", ex.Message);
    }

    [Fact]
    public void Default_resolution_finds_data_from_the_test_directory()
    {
        DataFolder folder = FashionMnist.ResolveFolder();
        Assert.Equal(Directory.Exists(FashionMnist.SystemFolder) && MnistLike.HasBothSplits(FashionMnist.SystemFolder)
            ? DataFolderSource.System : DataFolderSource.Sample, folder.Source);
    }

    [Fact]
    public void Debian_package_test_split_loads_when_installed()
    {
        if (!MnistLike.HasBothSplits(FashionMnist.SystemFolder))
        {
            // CI installs the package (.ci/run), so there the check always runs; elsewhere it needs
            // `apt-get install dataset-fashion-mnist`.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"CI must install dataset-fashion-mnist: {FashionMnist.SystemFolder} is missing");
            return;
        }
        LabeledImages test = MnistLike.Load(FashionMnist.SystemFolder, MnistSplit.Test);
        Assert.Equal(10000, test.Count);
        Assert.All(test.Labels.GroupBy(l => l), g => Assert.Equal(1000, g.Count()));
    }

    [Fact]
    public void Plain_and_dotted_file_names_are_found()
    {
        using var temp = new TempFolder();
        byte[] images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102];
        byte[] labels = [0, 0, 8, 1, 0, 0, 0, 2, 3, 9];
        temp.Write("train-images.idx3-ubyte", images);
        temp.Write("train-labels-idx1-ubyte", labels);

        LabeledImages split = MnistLike.Load(temp.Path, MnistSplit.Train);
        Assert.Equal((2, 1, 2), (split.Count, split.Height, split.Width));
        Assert.Equal([0f, 1f, 0.2f, 0.4f], split.Features);
        Assert.Equal([3, 9], split.Labels);
        Assert.Throws<FileNotFoundException>(() => MnistLike.Load(temp.Path, MnistSplit.Test));
    }

    [Fact]
    public void Disagreeing_counts_and_bad_labels_are_refused()
    {
        using var temp = new TempFolder();
        string images = temp.Write("imgs", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5, 6]);
        string threeLabels = temp.Write("three", [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]);
        string badLabel = temp.Write("bad", [0, 0, 8, 1, 0, 0, 0, 2, 1, 10]);
        string notImages = temp.Write("flat", [0, 0, 8, 1, 0, 0, 0, 2, 1, 2]);

        Assert.Equal("imgs holds 2 images but three holds 3 labels",
            Assert.Throws<InvalidDataException>(() => MnistLike.Load(images, threeLabels)).Message);
        Assert.Equal("bad: label 10 of item 1 is outside 0..9",
            Assert.Throws<InvalidDataException>(() => MnistLike.Load(images, badLabel)).Message);
        Assert.Equal("flat: expected unsigned-byte images [count, rows, columns], found unsigned byte [2]",
            Assert.Throws<InvalidDataException>(() => MnistLike.Load(notImages, badLabel)).Message);
    }
}
