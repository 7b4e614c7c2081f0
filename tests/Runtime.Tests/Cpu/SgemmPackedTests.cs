using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Runtime.Tests.Cpu;

/// <summary>
/// The <see cref="Parameter"/> overload of <see cref="Sgemm.Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, Parameter, int, float, Span{float}, int, int)"/>:
/// B packed once per <see cref="Parameter.Version"/>. Its results must be bitwise those of the array overload, and a
/// change of the weights announced by <see cref="Parameter.MarkChanged"/> (or made by Load) must never leave a stale copy in use.
/// </summary>
public class SgemmPackedTests
{
    public static TheoryData<SgemmPath> Paths => new(SgemmTests.SupportedPaths);

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static Parameter Weights(int rows, int cols, int seed)
    {
        var p = new Parameter("w", new[] { rows, cols }, "test.model:1");
        Random(rows * cols, seed).CopyTo(p.Value, 0);
        p.MarkChanged();
        return p;
    }

    /// <summary>C from the Parameter overload and from the array overload over the same values; asserts them bitwise equal.</summary>
    private static float[] Both(SgemmPath path, bool transA, bool transB, int m, int n, int k, float beta, Parameter b, int threads, int seed)
    {
        int lda = transA ? m : k, ldb = transB ? k : n;
        var a = Random(m * k, seed);
        var c0 = Random(m * n, seed + 1);
        var expected = (float[])c0.Clone();
        Sgemm.Multiply(path, transA, transB, m, n, k, 0.75f, a, lda, b.Value, ldb, beta, expected, n, threads);
        var actual = (float[])c0.Clone();
        Sgemm.Multiply(path, transA, transB, m, n, k, 0.75f, a, lda, b, ldb, beta, actual, n, threads);
        for (int i = 0; i < actual.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                Assert.Fail($"{path} ({transA},{transB}) {m}x{n}x{k} beta={beta} threads={threads}: C[{i}] = {actual[i]} packed, {expected[i]} per call");
        }
        return actual;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void PackedWeightsGiveTheSameBitsAsPackingPerCall(SgemmPath path)
    {
        // Edges of every tile and panel: n not a multiple of 16/32, k over one and two panel depths, n over one block
        // of columns (NC = 2048), m of 1-2 rows (read in place) and more (packed), both transposes of A and B.
        foreach (var (m, n, k) in new[] { (1, 37, 70), (2, 10, 256), (3, 37, 70), (40, 10, 256), (9, 16, 385), (17, 17, 33), (128, 256, 784), (9, 33, 769), (40, 2100, 19) })
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { true, false })
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var w = transB ? Weights(n, k, seed: m + n + k) : Weights(k, n, seed: m + n + k);
                        Both(path, transA, transB, m, n, k, 0f, w, threads, seed: 3);
                        Both(path, transA, transB, m, n, k, 1f, w, threads, seed: 4); // second call: from the cache
                    }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AnnouncedChangeIsSeenByTheNextCall(SgemmPath path)
    {
        var w = Weights(64, 96, seed: 1);
        var before = Both(path, false, true, 16, 64, 96, 0f, w, 1, seed: 2);

        // A write that is announced: the next call must use the new weights (fails if the cache goes stale).
        for (int i = 0; i < w.Value.Length; i++) w.Value[i] = -w.Value[i];
        long version = w.Version;
        w.MarkChanged();
        Assert.Equal(version + 1, w.Version);
        var after = Both(path, false, true, 16, 64, 96, 0f, w, 1, seed: 2);
        for (int i = 0; i < after.Length; i++) Assert.Equal(-before[i], after[i]);

        // A single element, the way a finite-difference check perturbs one weight.
        w.Value[5 * 96 + 7] += 1f;
        w.MarkChanged();
        Both(path, false, true, 16, 64, 96, 0f, w, 1, seed: 2);
    }

    [Fact]
    public void UnannouncedWriteIsNotSeen()
    {
        // The documented contract, pinned down: writing Value without MarkChanged leaves the packed copy in use (so the
        // test above is what proves MarkChanged is needed and sufficient, and the docs say so).
        var w = Weights(32, 64, seed: 5);
        var a = Random(8 * 64, 6);
        var first = new float[8 * 32];
        Sgemm.Multiply(false, true, 8, 32, 64, 1f, a, 64, w, 64, 0f, first, 32);
        w.Value[0] += 100f;
        var second = new float[8 * 32];
        Sgemm.Multiply(false, true, 8, 32, 64, 1f, a, 64, w, 64, 0f, second, 32);
        Assert.Equal(first, second);
        w.MarkChanged();
        Sgemm.Multiply(false, true, 8, 32, 64, 1f, a, 64, w, 64, 0f, second, 32);
        Assert.NotEqual(first[0], second[0]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ShapeTransposeOrLeadingDimensionChangeRepacks(SgemmPath path)
    {
        // One parameter seen as different matrices in turn (a weight shared by two layers): each call packs its own view.
        var w = Weights(48, 48, seed: 7);
        Both(path, false, true, 8, 48, 48, 0f, w, 1, seed: 1);
        Both(path, false, false, 8, 48, 48, 0f, w, 1, seed: 1);
        Both(path, false, true, 8, 24, 96, 0f, w, 1, seed: 1);
        Both(path, false, true, 8, 40, 40, 0f, w, 1, seed: 1); // ldb 48 > k 40: a different leading dimension
        var a = Random(8 * 40, 9);
        var viaLd = new float[8 * 40];
        var expected = new float[8 * 40];
        Sgemm.Multiply(path, false, true, 8, 40, 40, 1f, a, 40, w, 48, 0f, viaLd, 40);
        Sgemm.Multiply(path, false, true, 8, 40, 40, 1f, a, 40, w.Value, 48, 0f, expected, 40);
        Assert.Equal(expected, viaLd);
    }

    [Fact]
    public void LoadingWeightsMarksThemChanged()
    {
        var folder = Directory.CreateTempSubdirectory("mdlpack-");
        try
        {
            var saved = Weights(32, 64, seed: 11);
            string path = Path.Combine(folder.FullName, "w.safetensors");
            Safetensors.Save(path, "M", new[] { saved }, optimizerStep: 1);

            var w = Weights(32, 64, seed: 12);
            var a = Random(8 * 64, 13);
            var c = new float[8 * 32];
            Sgemm.Multiply(false, true, 8, 32, 64, 1f, a, 64, w, 64, 0f, c, 32); // packs the old weights
            long version = w.Version;
            Safetensors.Load(path, "M", new[] { w });
            Assert.True(w.Version > version);
            Sgemm.Multiply(false, true, 8, 32, 64, 1f, a, 64, w, 64, 0f, c, 32);
            var expected = new float[8 * 32];
            Sgemm.Multiply(false, true, 8, 32, 64, 1f, a, 64, saved.Value, 64, 0f, expected, 32);
            Assert.Equal(expected, c);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
