using System;
using ModelDsl.Cuda.Tests.Support;
using Xunit;

namespace ModelDsl.Cuda.Tests.Interop;

/// <summary>
/// <see cref="CudaContext.SgemmEpilogue"/> through the stand-in cuBLASLt: the descriptors, layouts, heuristic and matmul the
/// binding makes for each epilogue must give <see cref="EpilogueReference"/>'s row-major result when the stand-in applies
/// cuBLASLt's column-major definitions (so a BGRADA where BGRADB belongs, or a layout with rows and columns swapped, fails);
/// every failure names its call; every descriptor is destroyed.
/// </summary>
public sealed partial class FakeDriverTests
{
    public static TheoryData<GemmEpilogue, bool, bool> Epilogues()
    {
        var data = new TheoryData<GemmEpilogue, bool, bool>();
        foreach (GemmEpilogue epilogue in Enum.GetValues<GemmEpilogue>())
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    data.Add(epilogue, transA, transB);
        return data;
    }

    [FakeCudaTheory]
    [MemberData(nameof(Epilogues))]
    public void SgemmEpilogue_MatchesTheRowMajorDefinition_ThroughCublasLtMatmul(GemmEpilogue epilogue, bool transA, bool transB)
    {
        using CudaContext context = Fake.Open();
        const int m = 6, n = 5, k = 4;
        int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 1;
        bool gelu = epilogue is GemmEpilogue.GeluAuxBias or GemmEpilogue.GeluGradientBiasGradient;
        float beta = gelu ? 0f : 0.5f;
        float[] a = Values(1, (transA ? k : m) * lda), b = Values(2, (transB ? n : k) * ldb), c = Values(3, m * ldc);
        float[] bias = Values(4, epilogue == GemmEpilogue.BiasGradientOfA ? m : n), aux = Values(5, m * ldc);
        float[] expectedC = (float[])c.Clone(), expectedBias = (float[])bias.Clone(), expectedAux = (float[])aux.Clone();
        EpilogueReference.Apply(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, expectedC, ldc, expectedBias, gelu ? expectedAux : null);

        using DeviceVariable da = Upload(context, a), db = Upload(context, b), dc = Upload(context, c), dbias = Upload(context, bias), daux = Upload(context, aux);
        context.SgemmEpilogue(epilogue, transA, transB, m, n, k, da.Pointer, lda, db.Pointer, ldb, beta, dc.Pointer, ldc, dbias.Pointer, gelu ? daux.Pointer : default);

        AssertClose(expectedC, dc);
        AssertClose(expectedBias, dbias);
        AssertClose(expectedAux, daux);
        int code = epilogue switch { GemmEpilogue.Bias => 4, GemmEpilogue.GeluAuxBias => 164, GemmEpilogue.GeluGradientBiasGradient => 208, _ => 512 };
        Assert.EndsWith($"cublasLtMatmul epilogue={code} {(transB ? 'T' : 'N')}{(transA ? 'T' : 'N')} m={n} n={m} k={k}{(gelu ? $" auxld={ldc}" : "")}\n", Fake.Log);
        Assert.Equal(0, Fake.Get("cublaslt_objects"));
    }

    /// <summary>
    /// <see cref="CudaContext.GemmBf16Epilogue"/> through the stand-in: A and B laid out as CUDA_R_16BF, C and D as the
    /// destination's type, the bias's data type set to D's (the stand-in refuses any other, as cuBLASLt outside FP8), and the
    /// results those of the row-major definitions on the widened values, a BF16 C and aux rounded to nearest even.
    /// </summary>
    [FakeCudaTheory]
    [MemberData(nameof(Bf16EpilogueCase.All), MemberType = typeof(Bf16EpilogueCase))]
    public void GemmBf16Epilogue_MatchesTheRowMajorDefinition_ThroughCublasLtMatmulWithBf16Layouts(GemmEpilogue epilogue, bool transA, bool transB, bool bf16C)
    {
        using CudaContext context = Fake.Open();
        const int m = 6, n = 5, k = 4;
        Bf16EpilogueCase.Run(context, epilogue, transA, transB, bf16C, m, n, k);

        int code = epilogue switch { GemmEpilogue.Bias => 4, GemmEpilogue.GeluAuxBias => 164, GemmEpilogue.GeluGradientBiasGradient => 208, _ => 512 };
        bool gelu = epilogue is GemmEpilogue.GeluAuxBias or GemmEpilogue.GeluGradientBiasGradient;
        string type = bf16C ? "16BF" : "32F";
        Assert.Contains($"\ncublasLtMatmul epilogue={code} {(transB ? 'T' : 'N')}{(transA ? 'T' : 'N')} m={n} n={m} k={k}{(gelu ? $" auxld={n + 3}" : "")} A=16BF B=16BF D={type} bias={type}\n", Fake.Log);
        Assert.Equal(0, Fake.Get("cublaslt_objects"));
    }

    [FakeCudaTheory]
    [InlineData(GemmEpilogue.Bias, true, false)]
    [InlineData(GemmEpilogue.GeluAuxBias, false, true)]
    public void GemmBf16Epilogue_Bf16C_IsTheFp32ResultRoundedOnceToNearestEven(GemmEpilogue epilogue, bool transA, bool transB)
    {
        using CudaContext context = Fake.Open();
        Bf16EpilogueCase.RoundedOnce(context, epilogue, transA, transB);
    }

    [FakeCudaFact]
    public void GemmBf16Epilogue_MatmulFails_NamesTheTypesAndTheShape()
    {
        using CudaContext context = Fake.Open();
        Fake.Set("lt_matmul_status", 15);
        using DeviceVariable x = Upload(context, new float[64]);

        var error = Assert.Throws<CudaException>(() =>
            context.GemmBf16Epilogue(GemmEpilogue.Bias, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, x.Pointer.Plus(32), 4, x.Pointer.Plus(48), bf16C: true));

        Assert.Equal("cublasLtMatmul(CUBLASLT_EPILOGUE_BIAS, A and B CUDA_R_16BF, C CUDA_R_16BF, row-major transA=False, transB=False, m=2, n=4, k=4, lda=4, ldb=4, ldc=4) failed: "
            + "CUBLAS_STATUS_NOT_SUPPORTED (15): the functionality requested is not supported", error.Message);
        Assert.Equal(0, Fake.Get("cublaslt_objects"));
    }

    [FakeCudaFact]
    public void SgemmEpilogue_NoAlgorithm_NamesTheHeuristicTheEpilogueAndTheShape_AndDestroysTheDescriptors()
    {
        using CudaContext context = Fake.Open();
        Fake.Set("lt_heuristic_found", 0);
        using DeviceVariable x = Upload(context, new float[64]);

        var error = Assert.Throws<CudaException>(() =>
            context.SgemmEpilogue(GemmEpilogue.Bias, false, true, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, x.Pointer.Plus(32), 4, x.Pointer.Plus(48)));

        Assert.Equal("cublasLtMatmulAlgoGetHeuristic(CUBLASLT_EPILOGUE_BIAS, row-major transA=False, transB=True, m=2, n=4, k=4, lda=4, ldb=4, ldc=4) "
            + "found no algorithm for this epilogue and shape", error.Message);
        Assert.Equal(0, Fake.Get("cublaslt_objects"));
    }

    [FakeCudaFact]
    public void SgemmEpilogue_MatmulFails_NamesTheCallAndTheStatus()
    {
        using CudaContext context = Fake.Open();
        Fake.Set("lt_matmul_status", 15);
        using DeviceVariable x = Upload(context, new float[64]), aux = Upload(context, new float[8]);

        var error = Assert.Throws<CudaException>(() =>
            context.SgemmEpilogue(GemmEpilogue.GeluAuxBias, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, x.Pointer.Plus(32), 4, x.Pointer.Plus(48), aux.Pointer));

        Assert.Equal("cublasLtMatmul(CUBLASLT_EPILOGUE_GELU_AUX_BIAS, row-major transA=False, transB=False, m=2, n=4, k=4, lda=4, ldb=4, ldc=4) failed: "
            + "CUBLAS_STATUS_NOT_SUPPORTED (15): the functionality requested is not supported", error.Message);
        Assert.Equal(0, Fake.Get("cublaslt_objects"));
    }

    [FakeCudaFact]
    public void SgemmEpilogue_RejectsArgumentsTheEpilogueCannotTake_BeforeAnyCall()
    {
        using CudaContext context = Fake.Open();
        using DeviceVariable x = Upload(context, new float[64]);
        DevicePointer c = x.Pointer.Plus(32), bias = x.Pointer.Plus(48);

        Assert.Throws<ArgumentNullException>(() => context.SgemmEpilogue(GemmEpilogue.GeluAuxBias, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, c, 4, bias));
        Assert.Throws<ArgumentException>(() => context.SgemmEpilogue(GemmEpilogue.Bias, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, c, 4, bias, x.Pointer));
        Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmEpilogue(GemmEpilogue.GeluGradientBiasGradient, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 1f, c, 4, bias, x.Pointer));
        Assert.Throws<ArgumentException>(() => context.SgemmEpilogue(GemmEpilogue.GeluAuxBias, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, c, 4, bias, c.Plus(4)));
        Assert.Throws<ArgumentNullException>(() => context.SgemmEpilogue(GemmEpilogue.Bias, false, false, 2, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, c, 4, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => context.SgemmEpilogue(GemmEpilogue.Bias, false, false, 0, 4, 4, x.Pointer, 4, x.Pointer, 4, 0f, c, 4, bias));
        Assert.DoesNotContain("cublasLtMatmul", Fake.Log);
    }

    [FakeCudaFact]
    public void Open_CublasLtCreateFails_ThrowsUnavailableAndReleasesTheCublasHandleAndTheContext()
    {
        Fake.Set("cublaslt_create_status", 3);

        var error = Assert.Throws<CudaUnavailableException>(() => Fake.Open());

        Assert.Equal("cublasLtCreate failed: CUBLAS_STATUS_ALLOC_FAILED (3): the resource allocation failed", error.Message);
        Assert.Equal(0, Fake.Get("cublas_handles"));
        Assert.Equal(0, Fake.Get("primary_refcount"));
    }

    private static void AssertClose(float[] expected, DeviceVariable actual)
    {
        float[] values = new float[expected.Length];
        actual.CopyTo<float>(values);
        for (int i = 0; i < values.Length; i++) Assert.True(Math.Abs(expected[i] - values[i]) <= 1e-5f + 1e-4f * Math.Abs(expected[i]), $"element {i}: expected {expected[i]}, got {values[i]}");
    }
}
