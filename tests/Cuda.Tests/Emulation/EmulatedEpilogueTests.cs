using System;
using ModelDsl.Cuda.Tests.Interop;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>
/// The emulator's <see cref="GpuContext.SgemmEpilogue"/> against <see cref="EpilogueReference"/> (the same definitions the
/// stand-in cuBLASLt is held to in <see cref="FakeDriverTests"/>), and its operand checks.
/// </summary>
public sealed class EmulatedEpilogueTests
{
    [Theory]
    [MemberData(nameof(FakeDriverTests.Epilogues), MemberType = typeof(FakeDriverTests))]
    public void SgemmEpilogue_MatchesTheRowMajorDefinition(GemmEpilogue epilogue, bool transA, bool transB)
    {
        using GpuContext context = GpuContext.OpenEmulated();
        const int m = 7, n = 9, k = 5;
        int lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
        bool gelu = epilogue is GemmEpilogue.GeluAuxBias or GemmEpilogue.GeluGradientBiasGradient;
        float beta = gelu ? 0f : -0.25f;
        float[] a = Values(11, (transA ? k : m) * lda), b = Values(12, (transB ? n : k) * ldb), c = Values(13, m * ldc);
        float[] bias = Values(14, epilogue == GemmEpilogue.BiasGradientOfA ? m : n), aux = Values(15, m * ldc);
        float[] expectedC = (float[])c.Clone(), expectedBias = (float[])bias.Clone(), expectedAux = (float[])aux.Clone();
        EpilogueReference.Apply(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, expectedC, ldc, expectedBias, gelu ? expectedAux : null);

        using DeviceVariable da = Upload(context, a), db = Upload(context, b), dc = Upload(context, c), dbias = Upload(context, bias), daux = Upload(context, aux);
        context.SgemmEpilogue(epilogue, transA, transB, m, n, k, da.Pointer, lda, db.Pointer, ldb, beta, dc.Pointer, ldc, dbias.Pointer, gelu ? daux.Pointer : default);

        AssertClose(expectedC, dc);
        AssertClose(expectedBias, dbias);
        AssertClose(expectedAux, daux);
    }

    [Fact]
    public void SgemmEpilogue_BiasOutsideDeviceMemory_NamesTheOperand()
    {
        using GpuContext context = GpuContext.OpenEmulated();
        using DeviceVariable x = Upload(context, new float[16]), bias = Upload(context, new float[3]);

        var error = Assert.Throws<CudaException>(() =>
            context.SgemmEpilogue(GemmEpilogue.Bias, false, false, 2, 4, 2, x.Pointer, 2, x.Pointer, 4, 0f, x.Pointer.Plus(8), 4, bias.Pointer));

        Assert.StartsWith("Sgemm operand bias (1×4", error.Message);
    }

    private static DeviceVariable Upload(GpuContext context, float[] values)
    {
        DeviceVariable variable = context.Allocate(values.Length * sizeof(float));
        variable.CopyFrom<float>(values);
        return variable;
    }

    private static float[] Values(int seed, int length)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 4 - 2);
        return values;
    }

    private static void AssertClose(float[] expected, DeviceVariable actual)
    {
        float[] values = new float[expected.Length];
        actual.CopyTo<float>(values);
        for (int i = 0; i < values.Length; i++) Assert.True(Math.Abs(expected[i] - values[i]) <= 1e-5f + 1e-4f * Math.Abs(expected[i]), $"element {i}: expected {expected[i]}, got {values[i]}");
    }
}
