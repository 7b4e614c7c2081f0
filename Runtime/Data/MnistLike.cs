using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Data;

public enum MnistSplit
{
    Train,
    Test,
}

/// <summary>
/// Loads MNIST-format data sets (MNIST, Fashion-MNIST, KMNIST...): unsigned-byte IDX images [N, H, W] and labels [N]
/// under the standard file names, plain or gzipped.
/// </summary>
public static class MnistLike
{
    /// <summary>Standard name without extension, e.g. <c>t10k-labels-idx1-ubyte</c>.</summary>
    public static string StandardName(MnistSplit split, bool images) =>
        (split == MnistSplit.Train ? "train" : "t10k") + (images ? "-images-idx3-ubyte" : "-labels-idx1-ubyte");

    /// <summary>
    /// The file for <paramref name="standardName"/> in <paramref name="folder"/>: the plain file, then <c>.gz</c>; also the
    /// <c>train-images.idx3-ubyte</c> spelling some unpackers produce. Null when none exists.
    /// </summary>
    public static string? FindFile(string folder, string standardName) =>
        Candidates(standardName).Select(c => Path.Combine(folder, c)).FirstOrDefault(File.Exists);

    /// <summary>True when the folder holds images and labels for both splits.</summary>
    public static bool HasBothSplits(string folder) =>
        Directory.Exists(folder) &&
        new[] { MnistSplit.Train, MnistSplit.Test }.All(s => FindFile(folder, StandardName(s, true)) is not null && FindFile(folder, StandardName(s, false)) is not null);

    public static LabeledImages Load(string folder, MnistSplit split, int classCount = 10)
    {
        string images = Require(folder, StandardName(split, images: true));
        string labels = Require(folder, StandardName(split, images: false));
        return Load(images, labels, classCount);
    }

    /// <summary>Loads one images/labels pair; pixels become floats in [0, 1] (value / 255).</summary>
    public static LabeledImages Load(string imagesPath, string labelsPath, int classCount = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        IdxFile images = IdxFile.Read(imagesPath);
        IdxFile labels = IdxFile.Read(labelsPath);

        Expect(images, 3, "images [count, rows, columns]");
        Expect(labels, 1, "labels [count]");
        if (images.Count != labels.Count)
            throw new InvalidDataException($"{images.Name} holds {images.Count} images but {labels.Name} holds {labels.Count} labels");
        if (images.Dimensions[1] == 0 || images.Dimensions[2] == 0)
            throw new InvalidDataException($"{images.Name}: images of {images.Dimensions[1]}×{images.Dimensions[2]} pixels are empty");

        ReadOnlySpan<byte> raw = labels.Data;
        var classes = new int[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] >= classCount)
                throw new InvalidDataException($"{labels.Name}: label {raw[i]} of item {i} is outside 0..{classCount - 1}");
            classes[i] = raw[i];
        }

        // A table gives exact value/255 (multiplying by 1/255f can land a hair above 1) at the cost of one lookup.
        Span<float> scale = stackalloc float[256];
        for (int v = 0; v < 256; v++) scale[v] = v / 255f;
        ReadOnlySpan<byte> pixels = images.Data;
        var features = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) features[i] = scale[pixels[i]];

        return new LabeledImages(features, images.Dimensions[1], images.Dimensions[2], classes, classCount,
            source: Path.GetDirectoryName(Path.GetFullPath(imagesPath)) ?? imagesPath);
    }

    private static IEnumerable<string> Candidates(string standardName)
    {
        // "train-images-idx3-ubyte" -> "train-images.idx3-ubyte"
        int dash = standardName.IndexOf("-idx", StringComparison.Ordinal);
        string dotted = dash < 0 ? standardName : standardName[..dash] + "." + standardName[(dash + 1)..];
        return new[] { standardName, standardName + ".gz", dotted, dotted + ".gz" }.Distinct();
    }

    private static string Require(string folder, string standardName) =>
        FindFile(folder, standardName)
        ?? throw new FileNotFoundException(
            $"{folder}: no {standardName} (looked for {string.Join(", ", Candidates(standardName))})", Path.Combine(folder, standardName));

    private static void Expect(IdxFile file, int rank, string what)
    {
        if (file.DataType != IdxDataType.UnsignedByte || file.Rank != rank)
            throw new InvalidDataException($"{file.Name}: expected unsigned-byte {what}, found {IdxDataTypes.Describe(file.DataType)} [{string.Join("×", file.Dimensions)}]");
    }
}
