using System;

namespace ModelDsl.Cuda;

/// <summary>
/// The grid and block of each launch shape the CUDA emitter generates (Dsl/Emit/Cuda/CudaLaunch.cs, LaunchShape): the
/// generated launchers call these, so the sizes live in one place next to the kernels' assumptions.
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
}
