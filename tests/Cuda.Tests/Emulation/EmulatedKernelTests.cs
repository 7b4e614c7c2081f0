using System;
using System.Linq;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>Hand-written kernels run by the emulator give the results a GPU would.</summary>
public sealed class EmulatedKernelTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public void DeviceName_NamesTheCompiler()
    {
        Assert.True(emulator.Context.IsEmulated);
        Assert.Matches(@"^CPU emulation \(\S+ \d+\.\d+", emulator.Context.DeviceName);
    }

    [Fact]
    public void VectorAdd_GridStrideLoop_TakesPointerFloatAndIntArguments()
    {
        const int n = 10_000;
        float[] x = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        float[] y = Enumerable.Range(0, n).Select(i => (float)(i % 7)).ToArray();
        using DeviceVariable dx = emulator.Upload(x), dy = emulator.Upload(y);

        var arguments = new KernelArguments();
        arguments.Add(dx);
        arguments.Add(dy);
        arguments.Add(2.5f);
        arguments.Add(n);
        arguments.Add(-3);
        emulator.Module.GetKernel("vector_add").Launch(new Dim3(7), new Dim3(256), ref arguments);  // 1792 threads for 10000 elements

        float[] result = emulator.Download<float>(dy);
        for (int i = 0; i < n; i++) Assert.Equal(2.5f * x[i] + y[i] - 3f, result[i]);
    }

    [Fact]
    public void Launch_AllocatesNothing()
    {
        using DeviceVariable y = emulator.Context.Allocate(1000 * 4);
        GpuKernel kernel = emulator.Module.GetKernel("fill_index");
        var arguments = new KernelArguments();
        arguments.Add(y);
        arguments.Add(1000);
        kernel.Launch(Dim3.Cover(1000, 256), new Dim3(256), ref arguments);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) kernel.Launch(Dim3.Cover(1000, 256), new Dim3(256), ref arguments);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void BlockSum_SharedMemoryTreeReduction_OverSeveralBlocks()
    {
        const int blocks = 9, n = blocks * 256 - 100;  // the last block is partly past n
        float[] x = Enumerable.Range(0, n).Select(i => (float)(i % 13 - 6)).ToArray();
        using DeviceVariable dx = emulator.Upload(x), sums = emulator.Context.Allocate(blocks * 4);

        var arguments = new KernelArguments();
        arguments.Add(dx);
        arguments.Add(sums);
        arguments.Add(n);
        emulator.Module.GetKernel("block_sum").Launch(new Dim3(blocks), new Dim3(256), ref arguments);

        float[] result = emulator.Download<float>(sums);
        for (int b = 0; b < blocks; b++)
        {
            float expected = x.Skip(b * 256).Take(256).Sum();
            Assert.Equal(expected, result[b]);
        }
    }

    [Fact]
    public void WarpReduce_ShuffleXorAndDown_GiveEachWarpsSumAndMax()
    {
        const int n = 4 * 128, warps = n / 32;
        var random = new Random(3);
        float[] x = Enumerable.Range(0, n).Select(_ => (float)random.Next(-50, 50)).ToArray();
        using DeviceVariable dx = emulator.Upload(x);
        using DeviceVariable xorSums = emulator.Context.Allocate(warps * 4), downSums = emulator.Context.Allocate(warps * 4);
        using DeviceVariable maxima = emulator.Context.Allocate(warps * 4), disagreements = emulator.Context.Allocate(4);

        var arguments = new KernelArguments();
        arguments.Add(dx);
        arguments.Add(xorSums);
        arguments.Add(downSums);
        arguments.Add(maxima);
        arguments.Add(disagreements);
        arguments.Add(n);
        emulator.Module.GetKernel("warp_reduce").Launch(new Dim3(4), new Dim3(128), ref arguments);

        float[] xor = emulator.Download<float>(xorSums), down = emulator.Download<float>(downSums), max = emulator.Download<float>(maxima);
        for (int w = 0; w < warps; w++)
        {
            float[] warp = x.Skip(w * 32).Take(32).ToArray();
            Assert.Equal(warp.Sum(), xor[w]);
            Assert.Equal(warp.Sum(), down[w]);
            Assert.Equal(warp.Max(), max[w]);
        }
        Assert.Equal(0, emulator.Download<int>(disagreements)[0]);
    }

    [Fact]
    public void WarpScan_ShuffleUpAndIndexed_HonourWidth()
    {
        const int n = 2 * 64;
        int[] x = Enumerable.Range(0, n).Select(i => i % 5 + 1).ToArray();
        using DeviceVariable dx = emulator.Upload(x);
        using DeviceVariable scan32 = emulator.Context.Allocate(n * 4), scan16 = emulator.Context.Allocate(n * 4), first8 = emulator.Context.Allocate(n * 4);

        var arguments = new KernelArguments();
        arguments.Add(dx);
        arguments.Add(scan32);
        arguments.Add(scan16);
        arguments.Add(first8);
        arguments.Add(n);
        emulator.Module.GetKernel("warp_scan").Launch(new Dim3(2), new Dim3(64), ref arguments);

        int[] s32 = emulator.Download<int>(scan32), s16 = emulator.Download<int>(scan16), f8 = emulator.Download<int>(first8);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(x.Skip(i / 32 * 32).Take(i % 32 + 1).Sum(), s32[i]);
            Assert.Equal(x.Skip(i / 16 * 16).Take(i % 16 + 1).Sum(), s16[i]);
            Assert.Equal(x[i / 8 * 8], f8[i]);
        }
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(96)]
    public void BlockReduce_WarpShufflesThenSharedMemory(int blockSize)
    {
        const int blocks = 5;
        int n = blocks * blockSize - 7;
        float[] x = Enumerable.Range(0, n).Select(i => (float)(i % 9)).ToArray();
        using DeviceVariable dx = emulator.Upload(x), sums = emulator.Context.Allocate(blocks * 4);

        var arguments = new KernelArguments();
        arguments.Add(dx);
        arguments.Add(sums);
        arguments.Add(n);
        emulator.Module.GetKernel("block_reduce").Launch(new Dim3(blocks), new Dim3((uint)blockSize), ref arguments);

        float[] result = emulator.Download<float>(sums);
        for (int b = 0; b < blocks; b++) Assert.Equal(x.Skip(b * blockSize).Take(blockSize).Sum(), result[b]);
    }

    [Fact]
    public void ThreeDimensionalGridAndBlock_IndicesFollowCudasOrder()
    {
        var grid = new Dim3(2, 3, 2);
        var block = new Dim3(4, 2, 3);
        int total = (int)(grid.X * grid.Y * grid.Z * block.X * block.Y * block.Z);
        using DeviceVariable output = emulator.Context.Allocate(total * 4);

        var arguments = new KernelArguments();
        arguments.Add(output);
        emulator.Module.GetKernel("coordinates").Launch(grid, block, ref arguments);

        int[] result = emulator.Download<int>(output);
        int index = 0;
        for (int bz = 0; bz < grid.Z; bz++)
            for (int by = 0; by < grid.Y; by++)
                for (int bx = 0; bx < grid.X; bx++)
                    for (int tz = 0; tz < block.Z; tz++)
                        for (int ty = 0; ty < block.Y; ty++)
                            for (int tx = 0; tx < block.X; tx++)
                                Assert.Equal(bz * 100000 + by * 10000 + bx * 1000 + tz * 100 + ty * 10 + tx, result[index++]);
    }

    [Fact]
    public void ColumnSum_TwoDimensionalBlock32x8()
    {
        const int rows = 37, cols = 70;  // three blocks of 32 columns, the last one partial
        float[] m = Enumerable.Range(0, rows * cols).Select(i => (float)(i % 11)).ToArray();
        using DeviceVariable dm = emulator.Upload(m), sums = emulator.Context.Allocate(cols * 4);

        var arguments = new KernelArguments();
        arguments.Add(dm);
        arguments.Add(sums);
        arguments.Add(rows);
        arguments.Add(cols);
        emulator.Module.GetKernel("column_sum").Launch(new Dim3((cols + 31) / 32), new Dim3(32, 8), ref arguments);

        float[] result = emulator.Download<float>(sums);
        for (int c = 0; c < cols; c++)
        {
            float expected = 0;
            for (int r = 0; r < rows; r++) expected += m[r * cols + c];
            Assert.Equal(expected, result[c]);
        }
    }

    [Fact]
    public void Histogram_AtomicAddAndMax()
    {
        const int n = 5000, bins = 10;
        var random = new Random(7);
        int[] values = Enumerable.Range(0, n).Select(_ => random.Next(0, 1000)).ToArray();
        using DeviceVariable dv = emulator.Upload(values), dbins = emulator.Context.Allocate(bins * 4);
        using DeviceVariable total = emulator.Context.Allocate(4), count = emulator.Context.Allocate(4), max = emulator.Context.Allocate(4);

        var arguments = new KernelArguments();
        arguments.Add(dv);
        arguments.Add(dbins);
        arguments.Add(total);
        arguments.Add(count);
        arguments.Add(max);
        arguments.Add(n);
        arguments.Add(bins);
        emulator.Module.GetKernel("histogram").Launch(new Dim3(3), new Dim3(96), ref arguments);

        uint[] histogram = emulator.Download<uint>(dbins);
        for (int b = 0; b < bins; b++) Assert.Equal((uint)values.Count(v => v % bins == b), histogram[b]);
        Assert.Equal(n, emulator.Download<int>(count)[0]);
        Assert.Equal(values.Max(), emulator.Download<int>(max)[0]);
        Assert.Equal(values.Sum(), emulator.Download<float>(total)[0], 1e-6f * values.Sum());
    }
}
