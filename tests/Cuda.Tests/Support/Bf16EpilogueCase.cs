using System;
using System.Linq;

namespace ModelDsl.Cuda.Tests.Support;

/// <summary>
/// One <see cref="GpuContext.GemmBf16Epilogue"/> call on random values, checked against <see cref="EpilogueReference"/>:
/// BF16 operands (and, with a BF16 C, a BF16 bias, C and aux) widened to float, the reference's FP32 formulas, then a BF16
/// C and aux rounded to nearest even. Float outputs must agree to FP32 rounding of the sums; BF16 outputs to one BF16 step
/// of the value (the device's FP32 sum and the reference's may round to neighbouring BF16 values at a tie's edge).
/// Used for the emulator and, through <see cref="CudaContext"/>, the stand-in cuBLASLt.
/// </summary>
public static class Bf16EpilogueCase
{
    /// <summary>Every epilogue and transpose, with a float C, and the two forward epilogues with a BF16 C too.</summary>
    public static TheoryData<GemmEpilogue, bool, bool, bool> All()
    {
        var data = new TheoryData<GemmEpilogue, bool, bool, bool>();
        foreach (GemmEpilogue epilogue in Enum.GetValues<GemmEpilogue>())
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    foreach (bool bf16C in new[] { false, true })
                        if (!bf16C || epilogue is GemmEpilogue.Bias or GemmEpilogue.GeluAuxBias) data.Add(epilogue, transA, transB, bf16C);
        return data;
    }

    public static void Run(GpuContext context, GemmEpilogue epilogue, bool transA, bool transB, bool bf16C, int m, int n, int k)
    {
        int lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
        bool gelu = epilogue is GemmEpilogue.GeluAuxBias or GemmEpilogue.GeluGradientBiasGradient;
        float beta = gelu ? 0f : -0.25f;
        float[] a = Bf16Values(21, (transA ? k : m) * lda), b = Bf16Values(22, (transB ? n : k) * ldb);
        // C, bias and aux in the type the call gives them: BF16-representable values when bf16C.
        float[] c = Values(23, m * ldc, bf16C), bias = Values(24, epilogue == GemmEpilogue.BiasGradientOfA ? m : n, bf16C), aux = Values(25, m * ldc, bf16C);
        float[] expectedC = (float[])c.Clone(), expectedBias = (float[])bias.Clone(), expectedAux = (float[])aux.Clone();
        EpilogueReference.Apply(epilogue, transA, transB, m, n, k, a, lda, b, ldb, beta, expectedC, ldc, expectedBias, gelu ? expectedAux : null);

        using DeviceVariable da = UploadBf16(context, a), db = UploadBf16(context, b);
        using DeviceVariable dc = Upload(context, c, bf16C), dbias = Upload(context, bias, bf16C), daux = Upload(context, aux, bf16C);
        context.GemmBf16Epilogue(epilogue, transA, transB, m, n, k, da.Pointer, lda, db.Pointer, ldb, beta, dc.Pointer, ldc, dbias.Pointer,
            gelu ? daux.Pointer : default, bf16C);

        AssertClose(expectedC, dc, bf16C, "C");
        AssertClose(expectedBias, dbias, bf16C, "bias");
        AssertClose(expectedAux, daux, bf16C, "aux");
    }

    /// <summary>
    /// A forward epilogue into a BF16 C gives, bit for bit, the same call's FP32 result rounded once to nearest even (C, and
    /// aux for the GELU), with most FP32 results not representable in BF16, so truncation or a second rounding would show.
    /// </summary>
    public static void RoundedOnce(GpuContext context, GemmEpilogue epilogue, bool transA, bool transB)
    {
        const int m = 11, n = 16, k = 37;
        int lda = transA ? m : k, ldb = transB ? k : n;
        bool gelu = epilogue == GemmEpilogue.GeluAuxBias;
        float beta = gelu ? 0f : 0.75f;
        float[] a = Bf16Values(31, (transA ? k : m) * lda), b = Bf16Values(32, (transB ? n : k) * ldb);
        float[] c = Bf16Values(33, m * n), bias = Bf16Values(34, n);
        using DeviceVariable da = UploadBf16(context, a), db = UploadBf16(context, b);
        using DeviceVariable c16 = UploadBf16(context, c), bias16 = UploadBf16(context, bias), aux16 = context.Allocate(2L * m * n);
        using DeviceVariable c32 = Upload(context, c, bf16: false), bias32 = Upload(context, bias, bf16: false), aux32 = context.Allocate(4L * m * n);

        context.GemmBf16Epilogue(epilogue, transA, transB, m, n, k, da.Pointer, lda, db.Pointer, ldb, beta, c16.Pointer, n, bias16.Pointer, gelu ? aux16.Pointer : default, bf16C: true);
        context.GemmBf16Epilogue(epilogue, transA, transB, m, n, k, da.Pointer, lda, db.Pointer, ldb, beta, c32.Pointer, n, bias32.Pointer, gelu ? aux32.Pointer : default, bf16C: false);

        float[] wide = Download(c32, m * n, bf16: false);
        ushort[] narrow = new ushort[m * n];
        c16.CopyTo<ushort>(narrow);
        Assert.Equal(wide.Select(BFloat16.Round), narrow); // bit for bit: one rounding, to nearest even, of the FP32 value
        Assert.True(wide.Count(v => BFloat16.Quantize(v) != v) > m * n / 2, "most FP32 results need rounding (else the check is weak)");
        if (gelu)
        {
            ushort[] auxBits = new ushort[m * n];
            aux16.CopyTo<ushort>(auxBits);
            Assert.Equal(Download(aux32, m * n, bf16: false).Select(BFloat16.Round), auxBits);
        }
    }

    /// <summary>Values in [-2, 2) that BF16 holds exactly.</summary>
    public static float[] Bf16Values(int seed, int length) => Values(seed, length, bf16: true);

    public static float[] Values(int seed, int length, bool bf16)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2)).Select(v => bf16 ? BFloat16.Quantize(v) : v).ToArray();
    }

    public static DeviceVariable UploadBf16(GpuContext context, float[] values) => Upload(context, values, bf16: true);

    /// <summary>Values on the device as floats, or as BF16 (each exact: <see cref="Values"/> made them representable).</summary>
    public static DeviceVariable Upload(GpuContext context, float[] values, bool bf16)
    {
        DeviceVariable variable = context.Allocate(values.Length * (bf16 ? 2L : 4L));
        if (bf16) variable.CopyFrom<ushort>(values.Select(BFloat16.Round).ToArray());
        else variable.CopyFrom<float>(values);
        return variable;
    }

    public static float[] Download(DeviceVariable variable, int length, bool bf16)
    {
        if (!bf16)
        {
            float[] values = new float[length];
            variable.CopyTo<float>(values);
            return values;
        }
        ushort[] bits = new ushort[length];
        variable.CopyTo<ushort>(bits);
        return bits.Select(BFloat16.Widen).ToArray();
    }

    private static void AssertClose(float[] expected, DeviceVariable actual, bool bf16, string what)
    {
        float[] values = Download(actual, expected.Length, bf16);
        for (int i = 0; i < values.Length; i++)
        {
            float want = bf16 ? BFloat16.Quantize(expected[i]) : expected[i];
            // BF16: 8 significant bits, so neighbouring values are 2^-7 of the value apart at most.
            float tolerance = bf16 ? 1e-6f + Math.Abs(expected[i]) / 128f : 1e-5f + 1e-4f * Math.Abs(expected[i]);
            Assert.True(Math.Abs(want - values[i]) <= tolerance, $"{what} element {i}: expected {want} ({expected[i]} before rounding), got {values[i]}");
        }
    }
}
