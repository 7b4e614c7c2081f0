using System;
using System.Threading;
using ModelDsl.Runtime.Cpu;
using ModelDsl.Runtime.Cpu.Layers;
using ModelDsl.Runtime.Tests.Cpu;

namespace ModelDsl.Runtime.Tests.Layers;

/// <summary>
/// After a warm call (JIT, worker pool start, per-thread GEMM packing buffers), each kernel's forward + backward
/// allocates nothing on the managed heap: neither on the calling thread nor on the CPU workers.
/// </summary>
[Collection(NoAllocationCollection.Name)]
public class LayerAllocationTests
{
    private static void AssertNoAllocation(Action step)
    {
        for (int i = 0; i < 3; i++) step(); // warm-up
        Thread.Sleep(20); // let the workers record their counters
        long workersBefore = CpuWorkers.WorkerAllocatedBytes;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) step();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Thread.Sleep(20);
        Assert.Equal(0, allocated);
        Assert.Equal(0, CpuWorkers.WorkerAllocatedBytes - workersBefore);
    }

    [Fact]
    public void Conv2dForwardAndBackward()
    {
        // The Fashion CNN's second convolution at batch 8: several slots on the worker pool.
        var g = new Conv2dGeometry(8, 32, 14, 14, 64, 3, 1, 1);
        var rng = new Random(1);
        var x = GradCheck.Random(rng, g.InputLength);
        var w = GradCheck.Random(rng, g.WeightLength, 0.1f);
        var b = GradCheck.Random(rng, g.OutChannels);
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        var dw = new float[g.WeightLength];
        var db = new float[g.OutChannels];
        var ws = new float[Conv2d.WorkspaceSize(g)];
        AssertNoAllocation(() =>
        {
            Conv2d.Forward(g, x, w, b, y, ws);
            Conv2d.Backward(g, x, w, y, dx, dw, db, ws);
        });
    }

    [Fact]
    public void AttentionForwardAndBackward()
    {
        const int batch = 4, steps = 32, heads = 4, dh = 16, d = heads * dh;
        var rng = new Random(2);
        var qkv = GradCheck.Random(rng, batch * steps * 3 * d);
        var dqkv = new float[qkv.Length];
        var y = new float[batch * steps * d];
        var ws = new float[Attention.WorkspaceSize(batch, steps, heads)];
        AssertNoAllocation(() =>
        {
            var q = qkv.AsSpan();
            var dq = dqkv.AsSpan();
            Attention.Forward(batch, steps, heads, dh, true, q, q.Slice(d), q.Slice(2 * d), 3 * d, y, ws);
            Attention.Backward(batch, steps, heads, dh, true, q, q.Slice(d), q.Slice(2 * d), 3 * d, y, ws, dq, dq.Slice(d), dq.Slice(2 * d));
        });
    }

    [Fact]
    public void LstmForwardAndBackward()
    {
        const int b = 8, t = 12, input = 16, h = 32;
        var rng = new Random(3);
        var x = GradCheck.Random(rng, b * t * input);
        var wih = GradCheck.Random(rng, 4 * h * input, 0.2f);
        var whh = GradCheck.Random(rng, 4 * h * h, 0.2f);
        var bih = GradCheck.Random(rng, 4 * h, 0.2f);
        var bhh = GradCheck.Random(rng, 4 * h, 0.2f);
        var hs = new float[b * t * h];
        var last = new float[b * h];
        var ws = new float[Lstm.WorkspaceSize(b, t, h)];
        var (dx, dwih, dwhh, dbih, dbhh) = (new float[x.Length], new float[wih.Length], new float[whh.Length], new float[4 * h], new float[4 * h]);
        AssertNoAllocation(() =>
        {
            Lstm.Forward(b, t, input, h, x, wih, whh, bih, bhh, hs, last, Span<float>.Empty, ws);
            Lstm.Backward(b, t, input, h, x, wih, whh, hs, hs, last, ws, dx, dwih, dwhh, dbih, dbhh);
        });
    }

    [Fact]
    public void GruForwardAndBackward()
    {
        const int b = 8, t = 12, input = 16, h = 32;
        var rng = new Random(5);
        var x = GradCheck.Random(rng, b * t * input);
        var wih = GradCheck.Random(rng, 3 * h * input, 0.2f);
        var whh = GradCheck.Random(rng, 3 * h * h, 0.2f);
        var bih = GradCheck.Random(rng, 3 * h, 0.2f);
        var bhh = GradCheck.Random(rng, 3 * h, 0.2f);
        var hs = new float[b * t * h];
        var last = new float[b * h];
        var ws = new float[Gru.WorkspaceSize(b, t, h)];
        var (dx, dwih, dwhh, dbih, dbhh) = (new float[x.Length], new float[wih.Length], new float[whh.Length], new float[3 * h], new float[3 * h]);
        AssertNoAllocation(() =>
        {
            Gru.Forward(b, t, input, h, x, wih, whh, bih, bhh, hs, last, ws);
            Gru.Backward(b, t, input, h, x, wih, whh, hs, hs, last, ws, dx, dwih, dwhh, dbih, dbhh);
        });
    }

    [Fact]
    public void PoolingEmbeddingPositionalLayerNormAndSoftmax()
    {
        var g = new Pool2dGeometry(8, 32, 28, 28, 2, 2);
        var x = GradCheck.Random(new Random(4), g.InputLength);
        var y = new float[g.OutputLength];
        var idx = new int[g.OutputLength];
        var dx = new float[g.InputLength];
        const int rows = 256, dim = 64, num = 100;
        var ids = new int[rows];
        for (int i = 0; i < rows; i++) ids[i] = i * 7 % num;
        var table = GradCheck.Random(new Random(5), num * dim);
        var e = new float[rows * dim];
        var de = new float[rows * dim];
        var dtable = new float[num * dim];
        var (lw, lb, mean, rstd) = (new float[dim], new float[dim], new float[rows], new float[rows]);
        Array.Fill(lw, 1f);
        var (dlw, dlb) = (new float[dim], new float[dim]);
        AssertNoAllocation(() =>
        {
            MaxPool2d.Forward(g, x, y, idx);
            MaxPool2d.Backward(g, y, idx, dx);
            AvgPool2d.Forward(g, x, y);
            AvgPool2d.Backward(g, y, dx);
            Embedding.Forward(rows, num, dim, ids, table, e);
            Positional.Forward(4, rows / 4, num, dim, e, table, e);
            Positional.Backward(4, rows / 4, num, dim, e, de, dtable);
            LayerNorm.Forward(rows, dim, e, lw, lb, de, mean, rstd);
            Softmax.Forward(rows, dim, de, de);
            Softmax.Backward(rows, dim, de, e, de);
            LayerNorm.Backward(rows, dim, e, lw, mean, rstd, de, de, dlw, dlb);
            Embedding.Backward(rows, num, dim, -1, ids, de, dtable);
        });
    }
}
