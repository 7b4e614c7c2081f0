using System;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>The calls a generated TrainStep makes every step must not allocate once warmed up.</summary>
public class AllocationTests
{
    private static long Allocated(Action body)
    {
        body();   // warm-up: JIT, static constructors, tiering
        body();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) body();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void Optimizers_allocate_nothing()
    {
        float[] p = new float[1027], g = new float[1027], m = new float[1027], v = new float[1027];
        int step = 0;
        Assert.Equal(0, Allocated(() => Optimizers.Sgd(p, g, m, 0.1f, 0.9f, 1e-4f, true)));
        Assert.Equal(0, Allocated(() => Optimizers.Sgd(p, g, [], 0.1f, 0f, 0f, false)));
        Assert.Equal(0, Allocated(() => Optimizers.Adam(p, g, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f, ++step)));
        Assert.Equal(0, Allocated(() => Optimizers.AdamW(p, g, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, ++step)));
    }

    [Fact]
    public void Rng_metrics_shape_checks_and_batch_resizing_allocate_nothing()
    {
        float[] buffer = new float[1003];
        float sink = 0;
        Assert.Equal(0, Allocated(() => CounterRng.Fill(buffer, 1, 7)));
        Assert.Equal(0, Allocated(() => sink += CounterRng.Uniform(3, 4) + CounterRng.Uniform(3, Vector256.Create(5u)).GetElement(0)));

        float[] logits = new float[128 * 10];
        int[] labels = new int[128];
        int count = 0;
        Assert.Equal(0, Allocated(() => count += Metrics.CountCorrect(logits, 128, 10, labels)));
        Assert.Equal(0, Allocated(() => count += Metrics.CountCorrectBinary(buffer, buffer, 0.5f)));

        int[] shape = [128, 784];
        int[] bound = new int[1];
        string[] symbols = ["B"];
        int[] expected = [-1, 784];
        Assert.Equal(0, Allocated(() =>
        {
            bound[0] = 0;
            ShapeCheck.Input("M.TrainStep", "x", "[B, 784]", shape, expected, bound, symbols);
            ShapeCheck.Labels("M.TrainStep", "y", labels, 10);
        }));

        var x = Tensor.Zeros(128, 784);
        Assert.Equal(0, Allocated(() => { x.SetBatch(37); x.SetBatch(128); }));
        Assert.True(sink >= 0 && count >= 0);
    }
}
