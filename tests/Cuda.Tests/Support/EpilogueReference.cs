using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Cuda.Tests.Support;

/// <summary>
/// <see cref="GemmEpilogue"/>'s row-major definitions on host arrays, written from the enum's documentation and nothing
/// else: the product by the CPU backend's SGEMM, then each epilogue's formula element by element. The stand-in cuBLASLt
/// (column-major, cuBLASLt's own definitions) and the emulator are both held to it.
/// </summary>
internal static class EpilogueReference
{
    public static void Apply(GemmEpilogue epilogue, bool transA, bool transB, int m, int n, int k, float[] a, int lda, float[] b, int ldb,
        float beta, float[] c, int ldc, float[] bias, float[]? aux)
    {
        var product = new float[m * ldc];
        Sgemm.Multiply(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, product, ldc, maxThreads: 1);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int at = i * ldc + j;
                switch (epilogue)
                {
                    case GemmEpilogue.Bias:
                        c[at] = product[at] + beta * c[at] + bias[j];
                        break;
                    case GemmEpilogue.GeluAuxBias:
                        aux![at] = product[at] + bias[j];
                        c[at] = Activations.GeluTanh(aux[at]);
                        break;
                    case GemmEpilogue.GeluGradientBiasGradient:
                        c[at] = product[at] * Activations.GeluTanhGrad(aux![at]);
                        break;
                    case GemmEpilogue.BiasGradientOfA:
                        c[at] = product[at] + beta * c[at];
                        break;
                }
            }
        }
        if (epilogue == GemmEpilogue.GeluGradientBiasGradient)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int i = 0; i < m; i++) sum += c[i * ldc + j];
                bias[j] = (float)sum;
            }
        }
        if (epilogue == GemmEpilogue.BiasGradientOfA)
        {
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += transA ? a[p * lda + i] : a[i * lda + p];
                bias[i] = (float)sum;
            }
        }
    }
}
