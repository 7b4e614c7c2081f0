using System;
using System.Threading;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Runtime.Tests.Cpu;

[Collection(NoAllocationCollection.Name)]
public class NoAllocationTests
{
    private struct SumJob : IParallelJob
    {
        public float[] Data;
        public float[] Partial;
        public int Chunk;

        public void Run(int index)
        {
            float s = 0;
            int end = Math.Min(Data.Length, (index + 1) * Chunk);
            for (int i = index * Chunk; i < end; i++) s += Data[i];
            Partial[index] = s;
        }
    }

    private sealed class ScaleJob : ParallelJob
    {
        public float[] Data = Array.Empty<float>();
        public float Factor;

        public override void Run(int index) => Data[index] *= Factor;
    }

    [Fact]
    public void StructJobDispatchAllocatesNothing()
    {
        var job = new SumJob { Data = new float[4096], Partial = new float[64], Chunk = 64 };
        Array.Fill(job.Data, 1f);
        for (int i = 0; i < 10; i++) CpuWorkers.Run(in job, 64); // warm-up: starts the pool, JITs
        Thread.Sleep(20); // let workers record their counters
        long before = GC.GetAllocatedBytesForCurrentThread();
        long workersBefore = CpuWorkers.WorkerAllocatedBytes;
        for (int i = 0; i < 1000; i++)
        {
            CpuWorkers.Run(in job, 64);
            if (i % 100 == 0) Thread.Sleep(2); // lets workers fall asleep too: the wake path must not allocate either
        }
        long after = GC.GetAllocatedBytesForCurrentThread();
        Thread.Sleep(20);
        long workersAfter = CpuWorkers.WorkerAllocatedBytes;
        Assert.Equal(0, after - before);
        Assert.Equal(0, workersAfter - workersBefore);
        Assert.All(job.Partial, p => Assert.Equal(64f, p));
    }

    [Fact]
    public void ClassJobDispatchAllocatesNothing()
    {
        var job = new ScaleJob { Data = new float[256], Factor = 1f };
        Array.Fill(job.Data, 2f);
        for (int i = 0; i < 10; i++) CpuWorkers.Run(job, job.Data.Length);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) CpuWorkers.Run(job, job.Data.Length);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.All(job.Data, v => Assert.Equal(2f, v));
    }

    [Theory]
    [InlineData(false, true, 128, 256, 784)]   // dense forward  Y = X·Wᵀ
    [InlineData(false, false, 128, 784, 256)]  // dense backward dX = dY·W
    [InlineData(true, false, 256, 784, 128)]   // weight grad    dW += dYᵀ·X
    [InlineData(false, false, 7, 13, 5)]       // tiny, single-threaded path
    public void MultiplyAllocatesNothingAfterWarmUp(bool transA, bool transB, int m, int n, int k)
    {
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = i % 7 * 0.1f;
        for (int i = 0; i < b.Length; i++) b[i] = i % 5 * 0.1f;
        int lda = transA ? m : k, ldb = transB ? k : n;
        for (int i = 0; i < 3; i++)
            Sgemm.Multiply(transA, transB, m, n, k, 1f, a, lda, b, ldb, 1f, c, n);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Sgemm.Multiply(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
            Sgemm.Multiply(transA, transB, m, n, k, 1f, a, lda, b, ldb, 1f, c, n, maxThreads: 1);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public unsafe void PointerMultiplyAllocatesNothing()
    {
        const int m = 64, n = 48, k = 80;
        var a = new float[m * k];
        var b = new float[n * k];
        var c = new float[m * n];
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            Sgemm.Multiply(false, true, m, n, k, 1f, pa, k, pb, k, 0f, pc, n);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) Sgemm.Multiply(false, true, m, n, k, 1f, pa, k, pb, k, 0f, pc, n);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Fact]
    public void ReductionsAllocateNothing()
    {
        const int rows = 128, classes = 10;
        var logits = new float[rows * classes];
        var d = new float[rows * classes];
        var labels = new int[rows];
        var bias = new float[classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = (i * 37 % 11) * 0.3f;
        for (int i = 0; i < rows; i++) labels[i] = i % classes;
        Reductions.SoftmaxCrossEntropy(logits, labels, rows, classes, d);
        Reductions.ColumnSum(d, rows, classes, bias);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Reductions.SoftmaxCrossEntropy(logits, labels, rows, classes, d);
            Reductions.ColumnSum(d, rows, classes, bias);
            Reductions.SoftmaxCrossEntropyLoss(logits, labels, rows, classes);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
