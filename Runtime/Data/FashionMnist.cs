using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Data;

/// <summary>Fashion-MNIST: 28×28 grey images of 10 clothing classes, 60000 train + 10000 test in the full set.</summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the four gzipped IDX files.</summary>
    public const string SystemFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The shipped sample, relative to the repository root.</summary>
    public const string SampleFolder = "examples/FashionMnist/sample";

    public const int ClassCount = 10;

    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// The folder to load from: <paramref name="explicitPath"/> when given (it must exist), else <see cref="SystemFolder"/>
    /// when it holds both splits, else the repository sample, found by walking up from the current directory and from
    /// the application's base directory.
    /// </summary>
    public static DataFolder ResolveFolder(string? explicitPath = null) =>
        ResolveFolder(explicitPath, SystemFolder, [Environment.CurrentDirectory, AppContext.BaseDirectory]);

    /// <summary>As <see cref="ResolveFolder(string?)"/>, with the system folder and the sample search roots given (for tests).</summary>
    public static DataFolder ResolveFolder(string? explicitPath, string systemFolder, IEnumerable<string> sampleSearchRoots)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            // An explicit path that is wrong is an error, not a reason to quietly train on something else.
            if (!Directory.Exists(explicitPath))
                throw new DirectoryNotFoundException($"Fashion-MNIST folder {explicitPath} does not exist");
            return new DataFolder(Path.GetFullPath(explicitPath), DataFolderSource.Explicit);
        }
        if (MnistLike.HasBothSplits(systemFolder))
            return new DataFolder(systemFolder, DataFolderSource.System);

        string? sample = FindSample(sampleSearchRoots);
        return sample is not null
            ? new DataFolder(sample, DataFolderSource.Sample)
            : throw new DirectoryNotFoundException(
                $"no Fashion-MNIST data: pass a folder, install it (apt-get install dataset-fashion-mnist puts it in {systemFolder}), " +
                $"or run from inside the repository so {SampleFolder} is found");
    }

    /// <summary>The first <see cref="SampleFolder"/> with both splits in a root or any of its ancestors, or null.</summary>
    public static string? FindSample(IEnumerable<string> searchRoots)
    {
        foreach (string root in searchRoots.Where(r => !string.IsNullOrEmpty(r)))
        {
            for (var dir = new DirectoryInfo(Path.GetFullPath(root)); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, SampleFolder);
                if (MnistLike.HasBothSplits(candidate))
                    return candidate;
            }
        }
        return null;
    }

    /// <summary>Resolves the folder (see <see cref="ResolveFolder(string?)"/>) and loads both splits.</summary>
    public static FashionMnistData Load(string? explicitPath = null) => Load(ResolveFolder(explicitPath));

    public static FashionMnistData Load(DataFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        LabeledImages train = MnistLike.Load(folder.Path, MnistSplit.Train, ClassCount);
        LabeledImages test = MnistLike.Load(folder.Path, MnistSplit.Test, ClassCount);
        if (train.FeatureCount != 784 || test.FeatureCount != 784)
            throw new InvalidDataException($"{folder.Path}: Fashion-MNIST images are 28×28, found {train.Height}×{train.Width} (train) and {test.Height}×{test.Width} (test)");
        return new FashionMnistData(folder, train, test);
    }
}

/// <summary>Both splits and the folder they came from.</summary>
public sealed record FashionMnistData(DataFolder Folder, LabeledImages Train, LabeledImages Test);
