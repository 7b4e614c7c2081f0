using System;

namespace ModelDsl.Cuda;

/// <summary>
/// The grid and block of each launch shape: those the CUDA emitter generates for its kernels (Dsl/Emit/Cuda/CudaLaunch.cs,
/// LaunchShape), which the generated launchers call, and those the layer launchers (Layers/) use for the library's, so
/// the sizes live in one place next to the kernels' assumptions.
/// </summary>
public static class Grid
{
    /// <summary>Threads per block of the one-thread-per-element kernels, the warp-per-row kernels and the reduction.</summary>
    public const uint BlockSize = 256;

    /// <summary>The most blocks a grid-stride kernel is launched with; more elements loop.</summary>
    public const uint MaxBlocks = 65_535;

    public static Dim3 Block => new Dim3(BlockSize);

    /// <summary>32 columns × 8 rows: the column-sum kernels.</summary>
    public static Dim3 ColumnBlock => new Dim3(32, 8);

    /// <summary>One thread per element of <paramref name="count"/>, grid-stride beyond <see cref="MaxBlocks"/> blocks.</summary>
    public static Dim3 Elements(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        return new Dim3((uint)Math.Clamp((count + BlockSize - 1) / BlockSize, 1, MaxBlocks));
    }

    /// <summary>One 32×8 block per 32 columns.</summary>
    public static Dim3 Columns(int columns) => new Dim3((uint)Math.Max(1, (columns + 31) / 32));

    /// <summary>One warp per row, 8 rows per 256-thread block.</summary>
    public static Dim3 WarpRows(int rows) => new Dim3((uint)Math.Max(1, (rows + 7) / 8));

    /// <summary>One 256-thread block per item: conv2d's bias gradient, one block per output channel.</summary>
    public static Dim3 Blocks(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "a launch needs at least one block");
        return new Dim3((uint)count);
    }

    /// <summary>
    /// The attention kernels' grid: one warp per sequence row, 8 rows per block (x), one grid row per head (y), one
    /// layer per batch item (z). CUDA limits y and z to 65,535, so a larger batch is refused here, by name.
    /// </summary>
    public static Dim3 HeadRows(int steps, int heads, int batch)
    {
        if (heads is < 1 or > (int)MaxBlocks) throw new ArgumentOutOfRangeException(nameof(heads), heads, $"attention runs 1 to {MaxBlocks} heads in one launch");
        if (batch is < 1 or > (int)MaxBlocks) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"attention on the GPU takes batches of 1 to {MaxBlocks} sequences");
        return new Dim3((uint)Math.Max(1, (steps + 7) / 8), (uint)heads, (uint)batch);
    }

    /// <summary>Threads per block of the tensor-core attention kernels (flashattention.cuh): 4 warps of 16 rows each.</summary>
    public const uint FlashBlockSize = 128;

    public static Dim3 FlashBlock => new Dim3(FlashBlockSize);

    /// <summary>
    /// The tensor-core attention kernels' grid: 64 sequence rows per block (x), one grid row per head (y), one layer per
    /// batch item (z), with <see cref="HeadRows"/>'s limits on heads and batch.
    /// </summary>
    public static Dim3 FlashRows(int steps, int heads, int batch)
    {
        var rows = HeadRows(steps, heads, batch);
        return new Dim3((uint)Math.Max(1, (steps + 63) / 64), rows.Y, rows.Z);
    }
}
