using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// The generated sessions' CUDA graphs on the emulator: a model trained with graphs (the step captured once per binding
/// and replayed) equals the same model trained with every kernel launched from the host, bit for bit, across dropout
/// masks that change every step (the seeds reach the replay through device memory), a learning-rate change, a new batch
/// size (a second capture), a return to the first (its graph replayed) and a change of CheckFinite (a third capture).
/// </summary>
public sealed class GraphTrainingTests
{
    [Theory]
    [InlineData(typeof(FashionMlp), 6, 1)]       // dropout between dense layers
    [InlineData(typeof(BinaryClassifier), 9, 1)] // the 10-64-64-1 classifier of the benchmarks
    [InlineData(typeof(CharGpt), 2, 8)]          // layer-library kernels (embedding, layer norm, attention) and dropout
    [InlineData(typeof(FortuneLstm), 3, 5)]      // recurrent layers
    public void Training_with_graphs_equals_training_without_bit_for_bit(Type type, int batch, int sequence)
    {
        using var context = GpuContext.OpenEmulated();
        var graphed = (ITrainableModel)Activator.CreateInstance(type, 7UL)!;
        var plain = (ITrainableModel)Activator.CreateInstance(type, 7UL)!;
        using var withGraphs = (IDisposable)ParityCheck.Invoke(graphed, "ToGpu", context);
        using var without = (IDisposable)ParityCheck.Invoke(plain, "ToGpu", context);
        ((dynamic)without).UseGraphs = false;
        Assert.True((bool)((dynamic)withGraphs).UseGraphs, "graphs are on by default (MODELDSL_CUDA_GRAPHS unset)");

        int[] batches = [batch, batch, batch, batch + 1, batch, batch, batch];
        for (int step = 0; step < batches.Length; step++)
        {
            if (step == 2) graphed.LearningRate = plain.LearningRate = plain.LearningRate * 0.5f;
            if (step == 6) ((dynamic)withGraphs).CheckFinite = ((dynamic)without).CheckFinite = false;
            object[] data = ParityCheck.RandomBatch(type, batches[step], sequence, seed: 40 + step);
            float a = (float)ParityCheck.Invoke(withGraphs, "TrainStep", data);
            float b = (float)ParityCheck.Invoke(without, "TrainStep", data);
            Assert.True(BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b), $"{type.Name} step {step + 1}: loss {a:R} with graphs, {b:R} without");
        }

        Assert.Null((string?)((dynamic)withGraphs).GraphFallbackReason);
        Assert.Equal(3, (int)((dynamic)withGraphs).GraphCaptures); // batch, batch + 1, then batch without the Σ g² check
        Assert.Equal(0, (int)((dynamic)without).GraphCaptures);
        ParityCheck.Invoke(withGraphs, "CopyToHost");
        ParityCheck.Invoke(without, "CopyToHost");
        for (int k = 0; k < graphed.Parameters.Count; k++)
        {
            var (p, q) = (graphed.Parameters[k], plain.Parameters[k]);
            Assert.True(p.Value.AsSpan().SequenceEqual(q.Value), $"{type.Name} {p.Name}: values differ after {batches.Length} steps");
            Assert.True(p.State1.AsSpan().SequenceEqual(q.State1), $"{type.Name} {p.Name}: optimizer state differs");
        }
        Assert.Equal(plain.Step, graphed.Step);
    }

    [Fact]
    public void Dropout_masks_change_from_step_to_step_under_a_replayed_graph()
    {
        // The same batch twice: with a fresh mask each step the two losses differ; a graph that kept its first step's
        // seed would give the second step the first step's mask.
        using var context = GpuContext.OpenEmulated();
        var model = new FashionMlp(seed: 3);
        using var session = model.ToGpu(context);
        session.CheckFinite = false;
        model.LearningRate = 0f; // no update: only the mask can change the loss
        object[] data = ParityCheck.RandomBatch(typeof(FashionMlp), 8, 1, seed: 5);
        var (x, y) = ((Tensor)data[0], (IntTensor)data[1]);
        float first = session.TrainStep(x, y), second = session.TrainStep(x, y), third = session.TrainStep(x, y);

        var reference = new FashionMlp(seed: 3) { LearningRate = 0f };
        Assert.Equal(reference.TrainStep(x, y), first, 5);
        Assert.Equal(reference.TrainStep(x, y), second, 5);
        Assert.Equal(reference.TrainStep(x, y), third, 5);
        Assert.NotEqual(first, second);
        Assert.Equal(1, session.GraphCaptures);
    }
}
