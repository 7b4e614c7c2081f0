using System;

namespace ModelDsl.Runtime.Cpu.Layers;

/// <summary>
/// The sizes of one <c>max_pool2d</c>/<c>avg_pool2d(kernel, stride, padding)</c> call on an NCHW batch, validated once:
/// input [N, C, H, W], output [N, C, H', W'], <c>H' = ⌊(H + 2·padding − k)/stride⌋ + 1</c> (PyTorch, ceil_mode off),
/// padding at most half the kernel (as PyTorch requires, so every window holds at least one input element).
/// </summary>
public readonly struct Pool2dGeometry
{
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1, padding is negative or more than half the kernel, or the kernel is larger than the padded input.</exception>
    /// <exception cref="ArgumentException">A tensor would have more elements than a span can hold.</exception>
    public Pool2dGeometry(int batch, int channels, int height, int width, int kernel, int stride, int padding = 0)
    {
        LayerArgs.Positive(batch, nameof(batch));
        LayerArgs.Positive(channels, nameof(channels));
        LayerArgs.Positive(height, nameof(height));
        LayerArgs.Positive(width, nameof(width));
        LayerArgs.Positive(kernel, nameof(kernel));
        LayerArgs.Positive(stride, nameof(stride));
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (2L * padding > kernel)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"Padding {padding} is more than half the kernel ({kernel}).");
        if (kernel > (long)height + 2L * padding || kernel > (long)width + 2L * padding)
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel,
                $"Kernel {kernel} is larger than the padded input {height + 2L * padding}×{width + 2L * padding} (input {height}×{width}, padding {padding}).");
        Batch = batch;
        Channels = channels;
        Height = height;
        Width = width;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        OutHeight = (int)((height + 2L * padding - kernel) / stride + 1);
        OutWidth = (int)((width + 2L * padding - kernel) / stride + 1);
        Planes = LayerArgs.Size((long)batch * channels, "The pooling planes (N·C)");
        InputLength = LayerArgs.Size((long)Planes * height * width, "The pooling input");
        OutputLength = LayerArgs.Size((long)Planes * OutHeight * OutWidth, "The pooling output");
    }

    public int Batch { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int OutHeight { get; }
    public int OutWidth { get; }

    /// <summary>N·C: the planes pooled independently.</summary>
    public int Planes { get; }

    /// <summary>N·C·H·W.</summary>
    public int InputLength { get; }

    /// <summary>N·C·H'·W'.</summary>
    public int OutputLength { get; }

    internal void ThrowIfDefault()
    {
        if (Kernel == 0) throw new ArgumentException("The Pool2dGeometry is uninitialised (default); build it with its constructor.");
    }

    /// <summary>Planes per parallel work item: about 4 items per thread, and none smaller than ~16K input elements.</summary>
    internal int PlanesPerItem()
    {
        long perPlane = Math.Max(1L, (long)Height * Width);
        long minPlanes = Math.Max(1L, 16384 / perPlane);
        long byThreads = Math.Max(1L, Planes / (4L * CpuWorkers.ThreadCount));
        return (int)Math.Min(Planes, Math.Max(minPlanes, byThreads));
    }

    public override string ToString() =>
        $"pool2d [{Batch}, {Channels}, {Height}, {Width}] -> [{Batch}, {Channels}, {OutHeight}, {OutWidth}] (kernel {Kernel}, stride {Stride}, padding {Padding})";
}
