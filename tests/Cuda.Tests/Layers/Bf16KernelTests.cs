using System;
using System.Linq;
using ModelDsl.Emit.Cuda;
using GpuLayers = ModelDsl.Cuda.Layers;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// BF16 rounding (bf16.cuh's md_bf16_from_float, run by md_bf16_round on the emulator, and ModelDsl.Cuda.BFloat16 on the
/// host) against known values: round to nearest with ties to even, overflow to Inf, subnormals without flushing, NaN
/// kept (sign kept, quiet bit set), Inf kept. NVRTC compiles the file with every family (LayerLibraryCompileTests).
/// </summary>
public sealed class Bf16KernelTests(LayerKernelFixture gpu) : IClassFixture<LayerKernelFixture>
{
    // (float bits, BF16 bits): the values a bit-level mistake would get wrong.
    private static readonly (uint Float, ushort Bf16)[] Known =
    {
        (0x3F800000u, 0x3F80), // 1
        (0xBFC00000u, 0xBFC0), // -1.5
        (0x3F807FFFu, 0x3F80), // 1 + just under half an ulp: down
        (0x3F808000u, 0x3F80), // 1 + exactly half an ulp: tie, 0x3F80 is even: down
        (0x3F808001u, 0x3F81), // just over half: up
        (0x3F818000u, 0x3F82), // tie between 0x3F81 (odd) and 0x3F82: up to even
        (0xBF818000u, 0xBF82), // the same tie, negative
        (0x3DCCCCCDu, 0x3DCD), // 0.1f → 0.10009765625 (torch.tensor(0.1).bfloat16())
        (0x40490FDBu, 0x4049), // π → 3.140625
        (0x7F7F7FFFu, 0x7F7F), // largest BF16 (3.3895e38) from below
        (0x7F7F8000u, 0x7F80), // tie above the largest BF16 (odd): rounds to +Inf
        (0x7F7FFFFFu, 0x7F80), // float.MaxValue: +Inf
        (0xFF7FFFFFu, 0xFF80), // -float.MaxValue: -Inf
        (0x7F800000u, 0x7F80), // +Inf
        (0xFF800000u, 0xFF80), // -Inf
        (0x7FC00000u, 0x7FC0), // the quiet NaN
        (0x7F800001u, 0x7FC0), // a NaN whose payload is only in the dropped bits: still NaN, not Inf
        (0xFFA00000u, 0xFFE0), // a negative signalling NaN: sign kept, quieted
        (0x00000000u, 0x0000), // +0
        (0x80000000u, 0x8000), // -0
        (0x00000001u, 0x0000), // the smallest float subnormal: to +0
        (0x00008000u, 0x0000), // subnormal tie, even: +0
        (0x00010000u, 0x0001), // the smallest BF16 subnormal, 9.2e-41, exact (no flush to zero)
        (0x00018000u, 0x0002), // subnormal tie, odd: up
        (0x807FFFFFu, 0x8080), // the largest negative subnormal rounds up to the smallest normal
    };

    [Fact]
    public void Host_rounding_gives_the_known_values()
    {
        foreach (var (f, expected) in Known)
            Assert.True(BFloat16.Round(BitConverter.UInt32BitsToSingle(f)) == expected, $"0x{f:X8} → 0x{BFloat16.Round(BitConverter.UInt32BitsToSingle(f)):X4}, expected 0x{expected:X4}");
        Assert.Equal(0.10009765625f, BFloat16.Quantize(0.1f));
        Assert.True(float.IsNaN(BFloat16.Widen(BFloat16.Round(float.NaN))));
    }

    [Fact]
    public void Device_rounding_gives_the_known_values_and_widening_is_exact()
    {
        var layers = gpu.Layers(LayerFamily.Bf16);
        int n = Known.Length;
        using DeviceVariable x = gpu.Context.Allocate(4L * n), y = gpu.Context.Allocate(2L * n), back = gpu.Context.Allocate(4L * n);
        x.CopyFrom<uint>(Known.Select(k => k.Float).ToArray());
        GpuLayers.Bf16.Round(layers, n, x.Pointer, y.Pointer);
        GpuLayers.Bf16.Widen(layers, n, y.Pointer, back.Pointer);
        var bits = new ushort[n];
        y.CopyTo<ushort>(bits);
        var widened = new uint[n];
        back.CopyTo<uint>(widened);
        for (int i = 0; i < n; i++)
        {
            Assert.True(bits[i] == Known[i].Bf16, $"md_bf16_round(0x{Known[i].Float:X8}) = 0x{bits[i]:X4}, expected 0x{Known[i].Bf16:X4}");
            Assert.Equal((uint)Known[i].Bf16 << 16, widened[i]);
        }
    }

    // Every float of a dense sweep (all exponents, mantissas stepped by an odd stride so every low-bit pattern occurs):
    // the device kernel and the host function agree bit for bit, and the result is the nearest BF16 (ties to even).
    [Fact]
    public void Device_and_host_agree_on_a_sweep_of_floats_and_round_to_nearest()
    {
        var layers = gpu.Layers(LayerFamily.Bf16);
        uint[] inputs = Enumerable.Range(0, 1 << 16).Select(i => (uint)i * 65537u + 0x1234u).ToArray();
        int n = inputs.Length;
        using DeviceVariable x = gpu.Context.Allocate(4L * n), y = gpu.Context.Allocate(2L * n);
        x.CopyFrom<uint>(inputs);
        GpuLayers.Bf16.Round(layers, n, x.Pointer, y.Pointer);
        var bits = new ushort[n];
        y.CopyTo<ushort>(bits);
        for (int i = 0; i < n; i++)
        {
            float v = BitConverter.UInt32BitsToSingle(inputs[i]);
            Assert.Equal(BFloat16.Round(v), bits[i]);
            if (!float.IsFinite(v) || Math.Abs((double)v) >= 3.3895313892515355e38) continue;
            // the nearest of the two BF16 neighbours (truncation and the next value up in magnitude)
            ushort down = (ushort)(inputs[i] >> 16), up = (ushort)(down + 1);
            double e = v, dd = Math.Abs(BFloat16.Widen(down) - e), du = Math.Abs(BFloat16.Widen(up) - e);
            ushort nearest = dd < du ? down : du < dd ? up : (down & 1) == 0 ? down : up;
            Assert.True(nearest == bits[i], $"0x{inputs[i]:X8}: got 0x{bits[i]:X4}, nearest 0x{nearest:X4}");
        }
    }

    // The md_act contract: one kernel text, compiled without and with MD_ACT_BF16 (as an Fp32 and a Bf16 session compile a
    // model's module), stores y[i] = md_act_from(md_load(x[i]) · 3): float storage (4 bytes, the FP32 product exactly)
    // without the define, BF16 storage (2 bytes, the product rounded to nearest even) with it; md_load widens either.
    [Fact]
    public void Md_act_is_float_without_the_define_and_bf16_with_it()
    {
        const string kernel = """

            extern "C" __global__ void __launch_bounds__(256) act_triple(int n, const md_act* __restrict__ x, md_act* __restrict__ y, int* __restrict__ size)
            {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i == 0) size[0] = (int)sizeof(md_act);
                if (i < n) y[i] = md_act_from(md_load(x[i]) * 3.0f);
            }
            """;
        float[] values = { 0.1f, -1.5f, 3.14159265f, 1e-3f, 65504f, 0f };
        int n = values.Length;
        foreach (bool bf16 in new[] { false, true })
        {
            string source = (bf16 ? "#define MD_ACT_BF16 1\n" : "") + CudaEmitter.PreludeText + CudaLayerLibrary.Source(LayerFamily.Bf16) + kernel;
            using GpuModule module = gpu.Context.LoadModule(bf16 ? "act_bf16" : "act_fp32", source);
            int bytes = bf16 ? 2 : 4;
            using DeviceVariable x = gpu.Context.Allocate(4L * n), y = gpu.Context.Allocate(4L * n), size = gpu.Context.Allocate(4);
            if (bf16) x.CopyFrom<ushort>(values.Select(BFloat16.Round).ToArray());
            else x.CopyFrom<float>(values);
            var arguments = new KernelArguments();
            arguments.Add(n);
            arguments.Add(x);
            arguments.Add(y);
            arguments.Add(size);
            module.GetKernel("act_triple").Launch(new Dim3(1), new Dim3(256), ref arguments);
            var sizes = new int[1];
            size.CopyTo<int>(sizes);
            Assert.Equal(bytes, sizes[0]);
            for (int i = 0; i < n; i++)
            {
                float stored = bf16 ? BFloat16.Widen(Download16(y, n)[i]) : gpu.Download(y, n)[i];
                float expected = bf16 ? BFloat16.Quantize(BFloat16.Quantize(values[i]) * 3f) : values[i] * 3f;
                Assert.Equal(expected, stored);
            }
        }
    }

    private static ushort[] Download16(DeviceVariable variable, int n)
    {
        var bits = new ushort[n];
        variable.CopyTo<ushort>(bits);
        return bits;
    }

    [Fact]
    public void Tf32_rounding_keeps_ten_mantissa_bits_with_ties_to_even()
    {
        Assert.Equal(1f, BFloat16.RoundToTf32(BitConverter.UInt32BitsToSingle(0x3F800FFFu)));
        Assert.Equal(BitConverter.UInt32BitsToSingle(0x3F800000u), BFloat16.RoundToTf32(BitConverter.UInt32BitsToSingle(0x3F801000u))); // tie, even
        Assert.Equal(BitConverter.UInt32BitsToSingle(0x3F804000u), BFloat16.RoundToTf32(BitConverter.UInt32BitsToSingle(0x3F803000u))); // tie, odd: up
        Assert.True(float.IsNaN(BFloat16.RoundToTf32(float.NaN)));
        Assert.Equal(float.PositiveInfinity, BFloat16.RoundToTf32(float.PositiveInfinity));
    }
}
