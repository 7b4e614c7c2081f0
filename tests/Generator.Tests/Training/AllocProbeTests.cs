using System;
using System.Collections.Generic;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

public sealed class AllocProbeTests
{
    [Fact]
    public void Probe()
    {
        var model = new TypedModel<IntTensor>(GeneratedModel.CompileExample("examples/FashionMnist/fashion_mlp.model", "FashionMlp"), 1);
        var random = new Random(11);
        var x = GradientChecker.RandomTensor(random, 64, 784);
        var y = GradientChecker.RandomClasses(random, 10, 64);
        var step = model.TrainStep;
        var fwd = model.Forward;
        var hits = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            long b = GC.GetAllocatedBytesForCurrentThread();
            step(x, y);
            long a = GC.GetAllocatedBytesForCurrentThread();
            if (a != b) hits.Add($"train {i}: {a - b}");
            b = GC.GetAllocatedBytesForCurrentThread();
            fwd(x);
            a = GC.GetAllocatedBytesForCurrentThread();
            if (a != b) hits.Add($"fwd {i}: {a - b}");
        }
        Assert.Fail(string.Join("\n", hits));
    }
}
