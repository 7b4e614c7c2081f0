using System.Runtime.CompilerServices;

namespace ModelDsl.BertClassifier.Tests;

internal static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The fixture database's index (copied beside the tests).</summary>
    public static string Rdx => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Rdata.rdx");

    public static string Sample => Path.Combine(RepoRoot, "examples", "BertClassifier", "sample");

    /// <summary>The imported MiniLM weights beside the tests (where the program, copied here, keeps them too).</summary>
    public static string Weights => WeightsFile.Value;

    private static readonly Lazy<string> WeightsFile = new(() => BertClassifierExample.Bert.MiniLmWeights.Cached(_ => { }));

    /// <summary>BertClassifier with the pretrained weights loaded through its pretrained block.</summary>
    public static BertClassifierExample.BertClassifier Pretrained(ulong seed = 13)
    {
        var model = new BertClassifierExample.BertClassifier(seed);
        model.LoadPretrained(Weights);
        return model;
    }

    /// <summary>A new empty folder under the temporary folder, for one test.</summary>
    public static string TemporaryFolder([CallerMemberName] string test = "")
    {
        string folder = Path.Combine(Path.GetTempPath(), $"bert-{test}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>The real modeldata data folder when it is on this machine (CI unpacks it: .ci/run), else null.</summary>
    public static string? RealPackage()
    {
        var folder = BertClassifierExample.Reviews.FineFoodReviews.PackageFolders.FirstOrDefault(f => File.Exists(Path.Combine(f, "Rdata.rdx")));
        if (folder is null)
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "CI must unpack r-cran-modeldata (.ci/run): no Rdata.rdx in " + string.Join(", ", BertClassifierExample.Reviews.FineFoodReviews.PackageFolders));
        return folder;
    }

    /// <summary>A fresh copy of the fixture database in a temporary folder, to corrupt.</summary>
    public static string CopyOfFixture([CallerMemberName] string test = "")
    {
        string folder = Path.Combine(Path.GetTempPath(), $"bert-fixture-{Environment.ProcessId}-{test}");
        Directory.CreateDirectory(folder);
        foreach (var ext in new[] { ".rdx", ".rdb" })
            File.Copy(Path.ChangeExtension(Rdx, ext), Path.Combine(folder, "Rdata" + ext), overwrite: true);
        return Path.Combine(folder, "Rdata.rdx");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln"))) return dir.FullName;
        throw new InvalidOperationException("ModelDsl.sln not found above " + AppContext.BaseDirectory);
    }
}
