using System;
using System.Linq;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>
/// The emulator's <see cref="GpuContext.GemmBf16Epilogue"/>: every epilogue against <see cref="EpilogueReference"/> on the
/// widened BF16 operands, the exact device semantics of a BF16 C (the FP32 result of the same call rounded once to nearest
/// even, C and aux alike), a float C equal to <see cref="GpuContext.SgemmEpilogue"/> on the widened operands bit for bit,
/// the operand checks at each operand's element size, and a captured call replayed.
/// </summary>
public sealed class EmulatedBf16EpilogueTests
{
    [Theory]
    [MemberData(nameof(Bf16EpilogueCase.All), MemberType = typeof(Bf16EpilogueCase))]
    public void GemmBf16Epilogue_MatchesTheRowMajorDefinition(GemmEpilogue epilogue, bool transA, bool transB, bool bf16C)
    {
        using GpuContext context = GpuContext.OpenEmulated();
        Bf16EpilogueCase.Run(context, epilogue, transA, transB, bf16C, m: 7, n: 9, k: 5);
    }

    [Theory]
    [InlineData(GemmEpilogue.Bias, false, true)]
    [InlineData(GemmEpilogue.Bias, true, false)]
    [InlineData(GemmEpilogue.GeluAuxBias, false, true)]
    [InlineData(GemmEpilogue.GeluAuxBias, true, true)]
    public void A_bf16_C_is_the_fp32_result_rounded_once_to_nearest_even(GemmEpilogue epilogue, bool transA, bool transB)
    {
        using GpuContext context = GpuContext.OpenEmulated();
        Bf16EpilogueCase.RoundedOnce(context, epilogue, transA, transB);
    }

    [Theory]
    [MemberData(nameof(Interop.FakeDriverTests.Epilogues), MemberType = typeof(Interop.FakeDriverTests))]
    public void A_float_C_equals_SgemmEpilogue_on_the_widened_operands_bit_for_bit(GemmEpilogue epilogue, bool transA, bool transB)
    {
        using GpuContext context = GpuContext.OpenEmulated();
        const int m = 6, n = 8, k = 9;
        int lda = transA ? m : k, ldb = transB ? k : n;
        bool gelu = epilogue is GemmEpilogue.GeluAuxBias or GemmEpilogue.GeluGradientBiasGradient;
        float beta = gelu ? 0f : 0.5f;
        float[] a = Bf16EpilogueCase.Bf16Values(41, (transA ? k : m) * lda), b = Bf16EpilogueCase.Bf16Values(42, (transB ? n : k) * ldb);
        float[] c = Bf16EpilogueCase.Values(43, m * n, bf16: false), bias = Bf16EpilogueCase.Values(44, Math.Max(m, n), bf16: false), aux = Bf16EpilogueCase.Values(45, m * n, bf16: false);
        using DeviceVariable a16 = Bf16EpilogueCase.UploadBf16(context, a), b16 = Bf16EpilogueCase.UploadBf16(context, b);
        using DeviceVariable a32 = Bf16EpilogueCase.Upload(context, a, false), b32 = Bf16EpilogueCase.Upload(context, b, false);
        using DeviceVariable c1 = Bf16EpilogueCase.Upload(context, c, false), c2 = Bf16EpilogueCase.Upload(context, c, false);
        using DeviceVariable bias1 = Bf16EpilogueCase.Upload(context, bias, false), bias2 = Bf16EpilogueCase.Upload(context, bias, false);
        using DeviceVariable aux1 = Bf16EpilogueCase.Upload(context, aux, false), aux2 = Bf16EpilogueCase.Upload(context, aux, false);

        context.GemmBf16Epilogue(epilogue, transA, transB, m, n, k, a16.Pointer, lda, b16.Pointer, ldb, beta, c1.Pointer, n, bias1.Pointer, gelu ? aux1.Pointer : default);
        context.SgemmEpilogue(epilogue, transA, transB, m, n, k, a32.Pointer, lda, b32.Pointer, ldb, beta, c2.Pointer, n, bias2.Pointer, gelu ? aux2.Pointer : default);

        foreach (var (x, y, what) in new[] { (c1, c2, "C"), (bias1, bias2, "bias"), (aux1, aux2, "aux") })
        {
            int length = (int)(x.Bytes / 4);
            Assert.True(Bf16EpilogueCase.Download(x, length, false).SequenceEqual(Bf16EpilogueCase.Download(y, length, false)), $"{epilogue} {what} differs");
        }
    }

    [Fact]
    public void The_gradient_epilogues_refuse_a_bf16_C()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable x = context.Allocate(256);
        foreach (var epilogue in new[] { GemmEpilogue.GeluGradientBiasGradient, GemmEpilogue.BiasGradientOfA })
        {
            var error = Assert.Throws<ArgumentException>(() => context.GemmBf16Epilogue(epilogue, false, false, 2, 8, 2, x.Pointer, 2, x.Pointer, 8, 0f,
                x.Pointer.Plus(16), 8, x.Pointer.Plus(40), epilogue == GemmEpilogue.GeluGradientBiasGradient ? x.Pointer.Plus(48) : default, bf16C: true));
            Assert.Equal("bf16C", error.ParamName);
            Assert.Contains("writes an FP32 gradient", error.Message);
        }
    }

    [Fact]
    public void Operands_are_checked_at_their_element_size()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        // A and B 2×4 and 4×4 BF16 values (8 and 16 × 2 bytes); C 2×4 BF16 (16 bytes); a BF16 bias of 4 fits 8 bytes, not 6.
        using DeviceVariable a = context.Allocate(16), b = context.Allocate(32), c = context.Allocate(16), shortBias = context.Allocate(6), bias = context.Allocate(8);
        context.GemmBf16Epilogue(GemmEpilogue.Bias, false, false, 2, 4, 4, a.Pointer, 4, b.Pointer, 4, 0f, c.Pointer, 4, bias.Pointer, bf16C: true);

        var error = Assert.Throws<CudaException>(() =>
            context.GemmBf16Epilogue(GemmEpilogue.Bias, false, false, 2, 4, 4, a.Pointer, 4, b.Pointer, 4, 0f, c.Pointer, 4, shortBias.Pointer, bf16C: true));
        Assert.StartsWith("Sgemm operand bias (1×4, leading dimension 1, 8 bytes", error.Message);
        error = Assert.Throws<CudaException>(() =>
            context.GemmBf16Epilogue(GemmEpilogue.Bias, false, false, 2, 4, 4, a.Pointer, 4, b.Pointer, 4, 0f, c.Pointer, 4, bias.Pointer, bf16C: false));
        Assert.StartsWith("Sgemm operand bias (1×4, leading dimension 1, 16 bytes", error.Message); // a float bias needs 16
    }

    [Fact]
    public void A_captured_call_replays_with_the_values_in_memory_then()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        const int m = 3, n = 8, k = 4;
        float[] a = Bf16EpilogueCase.Bf16Values(51, m * k), b = Bf16EpilogueCase.Bf16Values(52, k * n), bias = Bf16EpilogueCase.Bf16Values(53, n);
        using DeviceVariable da = Bf16EpilogueCase.UploadBf16(context, a), db = Bf16EpilogueCase.UploadBf16(context, b), dbias = Bf16EpilogueCase.UploadBf16(context, bias);
        using DeviceVariable c = context.Allocate(2L * m * n), aux = context.Allocate(2L * m * n), direct = context.Allocate(2L * m * n), directAux = context.Allocate(2L * m * n);
        using GpuGraph graph = context.CaptureGraph(() =>
            context.GemmBf16Epilogue(GemmEpilogue.GeluAuxBias, false, false, m, n, k, da.Pointer, k, db.Pointer, n, 0f, c.Pointer, n, dbias.Pointer, aux.Pointer, bf16C: true));
        Assert.Equal(1, graph.Nodes);
        Assert.All(Bf16EpilogueCase.Download(c, m * n, bf16: true), v => Assert.Equal(0f, v)); // nothing ran while captured

        float[] next = Bf16EpilogueCase.Bf16Values(54, m * k);
        da.CopyFrom<ushort>(next.Select(BFloat16.Round).ToArray());
        graph.Launch();
        context.GemmBf16Epilogue(GemmEpilogue.GeluAuxBias, false, false, m, n, k, da.Pointer, k, db.Pointer, n, 0f, direct.Pointer, n, dbias.Pointer, directAux.Pointer, bf16C: true);
        Assert.Equal(Bf16EpilogueCase.Download(direct, m * n, true), Bf16EpilogueCase.Download(c, m * n, true));
        Assert.Equal(Bf16EpilogueCase.Download(directAux, m * n, true), Bf16EpilogueCase.Download(aux, m * n, true));
    }
}
