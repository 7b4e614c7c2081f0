using System;
using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Runtime.Cpu.Layers;
using Xunit.Abstractions;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// ModelDsl.Cuda.Layers.ReduceSum / ReduceMax (md_reduce_*) against Runtime.Cpu.Layers on the emulator, and the CPU
/// kernels against the definitions (sentence-transformers' masked mean, max over unmasked positions) in double.
/// </summary>
public sealed class ReduceKernelTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    public enum MaskKind { None, Float, Int }

    private static (float[] Float, int[] Int) Mask(Random random, int outer, int length, MaskKind kind)
    {
        // 0/1 per position, each row with at least one real position except the last row, which is fully masked.
        var bits = new int[outer * length];
        for (int o = 0; o < outer; o++)
            for (int t = 0; t < length; t++) bits[o * length + t] = o == outer - 1 ? 0 : t == 0 ? 1 : random.Next(2);
        return kind switch
        {
            MaskKind.Float => (bits.Select(b => (float)b).ToArray(), Array.Empty<int>()),
            MaskKind.Int => (Array.Empty<float>(), bits),
            _ => (Array.Empty<float>(), Array.Empty<int>()),
        };
    }

    private static double W(float[] f, int[] i, int at) => f.Length > 0 ? f[at] : i.Length > 0 ? i[at] : 1.0;

    [Theory]
    [InlineData(3, 5, 4, true, MaskKind.None, false)]
    [InlineData(3, 5, 4, true, MaskKind.Float, true)]
    [InlineData(3, 6, 2, true, MaskKind.Int, false)]
    [InlineData(2, 7, 3, false, MaskKind.None, true)]
    [InlineData(4, 3, 1, false, MaskKind.Int, false)]
    public void Sum_and_mean_match_the_definition_and_the_cpu(int outer, int length, int inner, bool mean, MaskKind kind, bool accumulate)
    {
        var random = new Random(outer * 100 + length * 10 + inner);
        var (maskF, maskI) = Mask(random, outer, length, kind);
        int n = outer * length * inner, m = outer * inner;
        float[] x = LayerAssert.Uniform(random, n), dy = LayerAssert.Uniform(random, m), dx0 = LayerAssert.Uniform(random, n);
        float[] y = new float[m], dx = (float[])dx0.Clone();
        ReduceSum.Forward(outer, length, inner, mean, maskF, maskI, x, y);
        ReduceSum.Backward(outer, length, inner, mean, maskF, maskI, dy, dx, accumulate);
        for (int o = 0; o < outer; o++)
        {
            double total = Enumerable.Range(0, length).Sum(t => W(maskF, maskI, o * length + t));
            double denominator = !mean ? 1 : kind == MaskKind.None ? length : Math.Max(total, 1e-9);
            for (int i = 0; i < inner; i++)
            {
                double expected = Enumerable.Range(0, length).Sum(t => x[(o * length + t) * inner + i] * W(maskF, maskI, o * length + t)) / denominator;
                Assert.True(Math.Abs(expected - y[o * inner + i]) < 1e-5, $"y[{o}, {i}] = {y[o * inner + i]}, expected {expected}");
                for (int t = 0; t < length; t++)
                {
                    int at = (o * length + t) * inner + i;
                    double d = dy[o * inner + i] * W(maskF, maskI, o * length + t) / denominator + (accumulate ? dx0[at] : 0);
                    Assert.True(Math.Abs(d - dx[at]) < 1e-5, $"dx[{o}, {t}, {i}] = {dx[at]}, expected {d}");
                }
            }
        }
        if (kind != MaskKind.None) Assert.All(Enumerable.Range(0, inner), i => Assert.Equal(0f, y[(outer - 1) * inner + i])); // all masked: 0

        var layers = gpu.Layers(LayerFamily.Reduce);
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(m), dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0);
        using DeviceVariable dF = gpu.Upload(maskF.Length > 0 ? maskF : new float[1]), dI = gpu.Upload(maskI.Length > 0 ? maskI : new int[1]);
        var f = kind == MaskKind.Float ? dF.Pointer : default;
        var iMask = kind == MaskKind.Int ? dI.Pointer : default;
        GpuLayers.ReduceSum.Forward(layers, outer, length, inner, mean, f, iMask, dX.Pointer, dY.Pointer);
        LayerAssert.Close(output, "reduce y", y, gpu.Download(dY), 1e-6f, 1e-6f);
        GpuLayers.ReduceSum.Backward(layers, outer, length, inner, mean, f, iMask, dDy.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "reduce dx", dx, gpu.Download(dDx), 1e-6f, 1e-6f);
    }

    [Theory]
    [InlineData(3, 5, 4, MaskKind.None, false)]
    [InlineData(3, 5, 4, MaskKind.Float, true)]
    [InlineData(4, 6, 2, MaskKind.Int, false)]
    public void Max_takes_the_first_unmasked_winner_and_matches_the_cpu(int outer, int length, int inner, MaskKind kind, bool accumulate)
    {
        var random = new Random(outer + length + inner);
        var (maskF, maskI) = Mask(random, outer, length, kind);
        int n = outer * length * inner, m = outer * inner;
        // Few distinct values, so ties are common; a NaN in the first column of the first row.
        float[] x = Enumerable.Range(0, n).Select(_ => (float)random.Next(4)).ToArray();
        x[2 * inner] = float.NaN;
        float[] dy = LayerAssert.Uniform(random, m), dx0 = LayerAssert.Uniform(random, n);
        float[] y = new float[m], dx = (float[])dx0.Clone();
        int[] indices = new int[m];
        ReduceMax.Forward(outer, length, inner, maskF, maskI, x, y, indices);
        ReduceMax.Backward(outer, length, inner, dy, indices, dx, accumulate);
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                var real = Enumerable.Range(0, length).Where(t => W(maskF, maskI, o * length + t) != 0).ToList();
                int winner = real.Count == 0 ? -1
                    : real.FirstOrDefault(t => float.IsNaN(x[(o * length + t) * inner + i]), -1) is int nan and >= 0 ? nan
                    : real.First(t => x[(o * length + t) * inner + i] == real.Max(u => x[(o * length + u) * inner + i]));
                Assert.Equal(winner, indices[o * inner + i]);
                Assert.Equal(winner < 0 ? 0f : x[(o * length + winner) * inner + i], y[o * inner + i]);
                for (int t = 0; t < length; t++)
                {
                    int at = (o * length + t) * inner + i;
                    Assert.Equal((t == winner ? dy[o * inner + i] : 0f) + (accumulate ? dx0[at] : 0f), dx[at]);
                }
            }
        }

        var layers = gpu.Layers(LayerFamily.Reduce);
        using DeviceVariable dX = gpu.Upload(x), dY = gpu.Zeros(m), dIdx = gpu.Zeros(m), dDy = gpu.Upload(dy), dDx = gpu.Upload(dx0);
        using DeviceVariable dF = gpu.Upload(maskF.Length > 0 ? maskF : new float[1]), dI = gpu.Upload(maskI.Length > 0 ? maskI : new int[1]);
        var f = kind == MaskKind.Float ? dF.Pointer : default;
        var iMask = kind == MaskKind.Int ? dI.Pointer : default;
        GpuLayers.ReduceMax.Forward(layers, outer, length, inner, f, iMask, dX.Pointer, dY.Pointer, dIdx.Pointer);
        LayerAssert.Close(output, "max y", y, gpu.Download(dY), 0f, 0f);
        LayerAssert.Equal(output, "max indices", indices, gpu.Download<int>(dIdx));
        GpuLayers.ReduceMax.Backward(layers, outer, length, inner, dDy.Pointer, dIdx.Pointer, dDx.Pointer, accumulate);
        LayerAssert.Close(output, "max dx", dx, gpu.Download(dDx), 0f, 0f);
    }
}
