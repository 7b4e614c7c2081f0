using System;

namespace ModelDsl.Runtime.Cpu.Layers;

/// <summary>
/// The sizes of one <c>conv2d(channels, kernel, stride, padding)</c> call on an NCHW batch, validated once:
/// input [N, C, H, W], weight [K, C, k, k] (PyTorch layout), bias [K], output [N, K, H', W'] with
/// <c>H' = ⌊(H + 2·padding − k)/stride⌋ + 1</c> (likewise W'). A plain struct of ints: generated code can build one
/// per call without allocating.
/// </summary>
public readonly struct Conv2dGeometry
{
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1, padding is negative, or the kernel is larger than the padded input.</exception>
    /// <exception cref="ArgumentException">A tensor would have more elements than a span can hold.</exception>
    public Conv2dGeometry(int batch, int inChannels, int height, int width, int outChannels, int kernel, int stride = 1, int padding = 0)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(inChannels, nameof(inChannels));
        LayerArgs.Positive(height, nameof(height));
        LayerArgs.Positive(width, nameof(width));
        LayerArgs.Positive(outChannels, nameof(outChannels));
        LayerArgs.Positive(kernel, nameof(kernel));
        LayerArgs.Positive(stride, nameof(stride));
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (kernel > (long)height + 2L * padding || kernel > (long)width + 2L * padding)
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel,
                $"Kernel {kernel} is larger than the padded input {height + 2L * padding}×{width + 2L * padding} (input {height}×{width}, padding {padding}).");
        Batch = batch;
        InChannels = inChannels;
        Height = height;
        Width = width;
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        OutHeight = (int)((height + 2L * padding - kernel) / stride + 1);
        OutWidth = (int)((width + 2L * padding - kernel) / stride + 1);
        PatchSize = LayerArgs.Size((long)inChannels * kernel * kernel, "The conv2d patch (C·k·k)");
        OutPlane = LayerArgs.Size((long)OutHeight * OutWidth, "The conv2d output plane");
        InputLength = LayerArgs.Size((long)batch * inChannels * height * width, "The conv2d input");
        OutputLength = LayerArgs.Size((long)batch * outChannels * OutPlane, "The conv2d output");
        WeightLength = LayerArgs.Size((long)outChannels * PatchSize, "The conv2d weight");
        ColumnLength = LayerArgs.Size((long)PatchSize * OutPlane, "The conv2d column matrix (C·k·k × H'·W')");
    }

    public int Batch { get; }
    public int InChannels { get; }
    public int Height { get; }
    public int Width { get; }
    public int OutChannels { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int OutHeight { get; }
    public int OutWidth { get; }

    /// <summary>C·k·k: the length of one weight row and the row count of the column matrix.</summary>
    public int PatchSize { get; }

    /// <summary>H'·W'.</summary>
    public int OutPlane { get; }

    /// <summary>N·C·H·W.</summary>
    public int InputLength { get; }

    /// <summary>N·K·H'·W'.</summary>
    public int OutputLength { get; }

    /// <summary>K·C·k·k.</summary>
    public int WeightLength { get; }

    /// <summary>C·k·k · H'·W': the column matrix of one image.</summary>
    public int ColumnLength { get; }

    internal void ThrowIfDefault()
    {
        if (Kernel == 0) throw new ArgumentException("The Conv2dGeometry is uninitialised (default); build it with its constructor.");
    }

    public override string ToString() =>
        $"conv2d [{Batch}, {InChannels}, {Height}, {Width}] -> [{Batch}, {OutChannels}, {OutHeight}, {OutWidth}] (kernel {Kernel}, stride {Stride}, padding {Padding})";
}
