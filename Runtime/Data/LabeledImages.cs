using System;

namespace ModelDsl.Runtime.Data;

/// <summary>Grey images flattened to Height×Width floats in [0, 1], with a class label 0..ClassCount-1 each.</summary>
public sealed class LabeledImages : Dataset
{
    public LabeledImages(float[] pixels, int height, int width, int[] labels, int classCount, string source = "")
        : base(pixels, checked(height * width), labels ?? throw new ArgumentNullException(nameof(labels)), source: source)
    {
        Height = height;
        Width = width;
        ClassCount = classCount;
    }

    public int Height { get; }

    public int Width { get; }

    public int ClassCount { get; }

    /// <summary>The class labels (never null for images).</summary>
    public new int[] Labels => base.Labels!;
}
