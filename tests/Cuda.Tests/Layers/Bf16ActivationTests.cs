using System;
using ModelDsl.Emit.Cuda;
using Xunit.Abstractions;
using static ModelDsl.Cuda.Tests.Layers.ActivationStorageParity;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// BF16 activation storage, family by family: each family's module compiled with <c>#define MD_ACT_BF16 1</c> (md_act =
/// md_bf16) against the same module compiled without it (md_act = float), on the emulator, forward and backward, on the
/// same BF16-representable inputs: activation outputs within one rounding (2^-8 relative), every float output (gradients,
/// statistics) bit for bit (<see cref="ActivationStorageParity"/> derives both). The FP32 compilation is held to the CPU
/// kernels by the other tests of this folder; NVRTC compiles both storages (<see cref="LayerLibraryCompileTests"/>).
/// </summary>
public sealed class Bf16ActivationTests(LayerKernelFixture gpu, ITestOutputHelper output) : IClassFixture<LayerKernelFixture>
{
    [Theory]
    [InlineData(37, 70, false)]
    [InlineData(9, 300, true)]
    public void LayerNorm(int rows, int dim, bool accumulate)
    {
        var random = new Random(rows * 31 + dim);
        float[] x = Bf16Values(random, (long)rows * dim, 2f, 5f);
        float[] weight = LayerAssert.Uniform(random, dim, 0.5f, 1.5f), bias = LayerAssert.Uniform(random, dim);
        float[] dy = LayerAssert.Uniform(random, (long)rows * dim), dx0 = LayerAssert.Uniform(random, (long)rows * dim);
        float[] dw0 = LayerAssert.Uniform(random, dim), db0 = LayerAssert.Uniform(random, dim);
        float[] mean = new float[rows], rstd = new float[rows];
        ModelDsl.Runtime.Cpu.Layers.LayerNorm.Forward(rows, dim, x, weight, bias, new float[rows * dim], mean, rstd);
        Check(gpu, output, LayerFamily.LayerNorm, s =>
        {
            DevicePointer dX = s.Activation(x), dW = s.Floats(weight);
            GpuLayers.LayerNorm.Forward(s.Layers, rows, dim, dX, dW, s.Floats(bias), s.ActivationOutput("y", rows * dim),
                s.FloatOutput("mean", rows), s.FloatOutput("rstd", rows));
            GpuLayers.LayerNorm.Backward(s.Layers, rows, dim, dX, dW, s.Floats(mean), s.Floats(rstd), s.Floats(dy),
                s.FloatOutput("dx", dx0), s.FloatOutput("dweight", dw0), s.FloatOutput("dbias", db0), accumulate, accumulate);
        });
    }

    [Theory]
    [InlineData(37, 70, false)]
    [InlineData(3, 1000, true)]
    public void Softmax(int rows, int cols, bool accumulate)
    {
        var random = new Random(rows * 17 + cols);
        float[] x = Bf16Values(random, (long)rows * cols, -6f, 6f);
        float[] y = Bf16Values(random, (long)rows * cols, 0f, 0.2f); // a stored output the backward reads
        float[] dy = LayerAssert.Uniform(random, (long)rows * cols), dx0 = LayerAssert.Uniform(random, (long)rows * cols);
        Check(gpu, output, LayerFamily.Softmax, s =>
        {
            GpuLayers.Softmax.Forward(s.Layers, rows, cols, s.Activation(x), s.ActivationOutput("y", rows * cols));
            GpuLayers.Softmax.Backward(s.Layers, rows, cols, s.Activation(y), s.Floats(dy), s.FloatOutput("dx", dx0), accumulate);
        });
    }

    // The check itself can fail: a module whose md_act is not the buffers' storage (a kernel reading BF16 as floats and
    // writing float bits into BF16 buffers, or the reverse) breaks the bounds, here for layer_norm and softmax.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mixed_up_storage_fails_the_comparison(bool moduleBf16)
    {
        const int rows = 9, dim = 40;
        var random = new Random(3);
        float[] x = Bf16Values(random, rows * dim, -2f, 2f), weight = LayerAssert.Uniform(random, dim), bias = LayerAssert.Uniform(random, dim);
        float[] y = Bf16Values(random, rows * dim, 0f, 0.2f), dy = LayerAssert.Uniform(random, rows * dim);
        void Launch(ActivationStorage s)
        {
            GpuLayers.LayerNorm.Forward(s.Layers, rows, dim, s.Activation(x), s.Floats(weight), s.Floats(bias), s.ActivationOutput("y", rows * dim), default, default);
            GpuLayers.LayerNorm.Backward(s.Layers, rows, dim, s.Activation(x), s.Floats(weight), s.Floats(new float[rows]), s.Floats(Ones(rows)),
                s.Floats(dy), default, s.FloatOutput("dweight", dim), s.FloatOutput("dbias", dim));
        }
        var (fp32, _) = RunBoth(gpu, LayerFamily.LayerNorm, LayerFamily.LayerNorm, Launch);
        // BF16 buffers read by the FP32 module (moduleBf16 false), or float buffers read by the BF16 module.
        using var mixed = new ActivationStorage(gpu, LayerFamily.LayerNorm, bf16: !moduleBf16, moduleBf16: moduleBf16);
        Launch(mixed);
        int failures = Compare(output, fp32, mixed.Read(), out string first);
        output.WriteLine(first);
        Assert.True(failures >= 2, $"a mixed-up storage passed the comparison ({failures} outputs failed): the check cannot catch it");
    }

    private static float[] Ones(int count)
    {
        var ones = new float[count];
        Array.Fill(ones, 1f);
        return ones;
    }
}
