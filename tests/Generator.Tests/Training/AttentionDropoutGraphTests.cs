using System;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// A BERT-like model with attention dropout (<c>attention(heads, mask=m, dropout=p)</c>, BERT's dropouts on the embeddings
/// and before each residual) on the emulated GPU: its training step is captured as a CUDA graph and replayed (the
/// attention kernels read their dropout seed from device memory, as the generated dropout loops do), and the replayed
/// steps equal launched ones bit for bit, with a fresh dropout mask at every step.
/// </summary>
public sealed class AttentionDropoutGraphTests : IClassFixture<CudaParityTests.Emulator>
{
    private const string Text = """
        model MiniBert {
            input ids: i32[B, T]
            input mask: i32[B, T]
            label y: i32[B]
            e = embedding(ids, 11, 16) -> positional(12) -> layer_norm -> dropout(0.1)
            a = e -> attention(2, mask=mask, dropout=0.2)
            r1 = (e + dropout(a, 0.1)) -> layer_norm
            f = r1 -> dense(32) -> gelu -> dense(16)
            h = (r1 + dropout(f, 0.1)) -> layer_norm
            logits = h -> mean(axis=1) -> dense(3)
            output logits
            loss cross_entropy(logits, y)
            optimizer adam(lr=0.01)
        }
        """;

    private const int Batch = 5, Steps = 9;

    private readonly CudaParityTests.Emulator _emulator;

    public AttentionDropoutGraphTests(CudaParityTests.Emulator emulator) => _emulator = emulator;

    [Fact]
    public void A_bert_like_model_with_attention_dropout_replays_a_graph_equal_to_launching_bit_for_bit()
    {
        var compiled = GeneratedModel.Compile(Text, "MiniBert", seed: 4);
        // The attention launches pass where the seed lies, not its value: nothing in the step is passed by value per step.
        Assert.Contains("dropoutSeed: _dropoutSeeds.Pointer.Plus(", compiled.GpuSource);
        Assert.DoesNotContain("dropoutSeed: global::ModelDsl.Runtime.Cpu.Dropout.Seed(", compiled.GpuSource);

        var graphedModel = (ITrainableModel)compiled.NewInstance(4);
        var plainModel = (ITrainableModel)compiled.NewInstance(4);
        using var graphed = (IDisposable)ParityCheck.Invoke(graphedModel, "ToGpu", _emulator.Context);
        using var plain = (IDisposable)ParityCheck.Invoke(plainModel, "ToGpu", _emulator.Context);
        ((dynamic)plain).UseGraphs = false;
        Assert.True((bool)((dynamic)graphed).UseGraphs);
        Assert.Null((string?)((dynamic)graphed).GraphFallbackReason); // before: "attention … dropout slot N's seed by value"

        // Five training steps on different batches, then two on one batch with the learning rate at 0: only the dropout
        // masks (the attention's among them) can change the loss, so the two losses differ if the replay draws new masks.
        float[] graphedLosses = new float[7], plainLosses = new float[7];
        for (int step = 0; step < 7; step++)
        {
            if (step == 5) graphedModel.LearningRate = plainModel.LearningRate = 0f;
            object[] data = Data(step < 5 ? 50 + step : 60);
            graphedLosses[step] = (float)ParityCheck.Invoke(graphed, "TrainStep", data);
            plainLosses[step] = (float)ParityCheck.Invoke(plain, "TrainStep", data);
            Assert.True(BitConverter.SingleToInt32Bits(graphedLosses[step]) == BitConverter.SingleToInt32Bits(plainLosses[step]),
                $"step {step + 1}: loss {graphedLosses[step]:R} replayed, {plainLosses[step]:R} launched");
        }
        Assert.NotEqual(graphedLosses[5], graphedLosses[6]);

        Assert.Null((string?)((dynamic)graphed).GraphFallbackReason);
        Assert.Equal(1, (int)((dynamic)graphed).GraphCaptures); // one binding, captured once, replayed six times
        Assert.Equal(0, (int)((dynamic)plain).GraphCaptures);
        ParityCheck.Invoke(graphed, "CopyToHost");
        ParityCheck.Invoke(plain, "CopyToHost");
        for (int k = 0; k < graphedModel.Parameters.Count; k++)
        {
            var (p, q) = (graphedModel.Parameters[k], plainModel.Parameters[k]);
            Assert.True(p.Value.AsSpan().SequenceEqual(q.Value), $"{p.Name}: values differ after 7 steps");
            Assert.True(p.State1.AsSpan().SequenceEqual(q.State1), $"{p.Name}: optimizer state differs after 7 steps");
        }
        Assert.Equal(plainModel.Step, graphedModel.Step);

        // And the replayed masks are the CPU's: the same seven steps on the CPU backend give the same losses (to rounding).
        var cpu = (ITrainableModel)compiled.NewInstance(4);
        for (int step = 0; step < 7; step++)
        {
            if (step == 5) cpu.LearningRate = 0f;
            float expected = (float)ParityCheck.Invoke(cpu, "TrainStep", Data(step < 5 ? 50 + step : 60));
            Assert.True(Math.Abs(expected - graphedLosses[step]) <= 1e-4f * Math.Max(1f, Math.Abs(expected)),
                $"step {step + 1}: CPU loss {expected:R}, replayed graph {graphedLosses[step]:R}");
        }

        object[] Data(int seed)
        {
            var data = ParityCheck.RandomBatch(compiled.Type, Batch, Steps, seed);
            // row b: its first 9 − 2b tokens real, the rest padding
            int[] mask = Enumerable.Range(0, Batch * Steps).Select(i => i % Steps < Steps - 2 * (i / Steps) ? 1 : 0).ToArray();
            data[1] = new IntTensor(mask, Batch, Steps);
            return data;
        }
    }
}
