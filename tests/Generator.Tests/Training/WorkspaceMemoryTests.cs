using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The CPU half's one workspace (docs/generated-code.md, "Workspace memory"): buffers sized for the largest shapes seen
/// and reused from their start by smaller ones. A model run on shapes that shrink and grow again must compute exactly
/// what it computes with a fresh workspace of exactly each call's size (bit for bit: losses, outputs, parameters and
/// gradients), and the memory it holds must stay one buffer set at the largest shapes however many shapes come.
/// </summary>
public sealed class WorkspaceMemoryTests
{
    /// <summary>examples/BertClassifier/bert_classifier.model, tiny: d 8, 2 heads, FFN 16, 50 tokens, 16 positions (two outputs, a mask, dropout).</summary>
    private static readonly Lazy<GeneratedModel> s_bert = new(() => GeneratedModel.Compile(Shrink("examples/BertClassifier/bert_classifier.model",
        ("vocab = 30522", "vocab = 50"), ("positions = 512", "positions = 16"), ("d = 384", "d = 8"), ("heads = 12", "heads = 2"), ("ffn = 1536", "ffn = 16")),
        "BertClassifier", path: "bert_classifier.model"));

    private static readonly Lazy<GeneratedModel> s_charGpt = new(() => GeneratedModel.Compile(LayerGradientCheckTests.SmallCharGpt(), "CharGpt", path: "char_gpt.model"));

    /// <summary>Three recomputed Transformer blocks sharing one set of scratch buffers (the backward re-runs their forward into it).</summary>
    private static readonly Lazy<GeneratedModel> s_recompute = new(() => GeneratedModel.CompileExample("tests/CudaParity/models/parity_recompute.model", "ParityRecompute"));

    private static readonly Lazy<GeneratedModel> s_lstm = new(() => GeneratedModel.Compile(LayerGradientCheckTests.SmallFortuneLstm(), "FortuneLstm", path: "fortune_lstm.model"));

    private static readonly Lazy<GeneratedModel> s_cnn = new(() => GeneratedModel.Compile(LayerGradientCheckTests.SmallFashionCnn(), "FashionCnn", path: "fashion_cnn.model"));

    /// <summary>Shrinking, then growing past the first shape, then shrinking again: every buffer is reused longer than needed at some call.</summary>
    private static readonly (int B, int T)[] s_shapes = [(3, 8), (2, 5), (1, 3), (3, 6), (4, 8), (2, 7), (1, 2), (4, 3), (3, 8)];

    [Fact]
    public void Bert_on_shrinking_and_growing_shapes_matches_fresh_workspaces_bit_for_bit() =>
        AssertSameAsFresh(s_bert.Value, s_shapes.Select(s => BertBatch(new Random(s.B * 31 + s.T), s.B, s.T + 4)).ToList(), outputs: 2);

    [Fact]
    public void CharGpt_on_shrinking_and_growing_shapes_matches_fresh_workspaces_bit_for_bit() =>
        AssertSameAsFresh(s_charGpt.Value, s_shapes.Select(s =>
        {
            var random = new Random(s.B * 31 + s.T);
            return new object[] { GradientChecker.RandomClasses(random, 11, s.B, s.T), GradientChecker.RandomClasses(random, 11, s.B, s.T) };
        }).ToList(), outputs: 1);

    [Fact]
    public void Recomputed_blocks_on_shrinking_and_growing_shapes_match_fresh_workspaces_bit_for_bit() =>
        AssertSameAsFresh(s_recompute.Value, s_shapes.Select(s =>
        {
            var random = new Random(s.B * 31 + s.T);
            return new object[] { GradientChecker.RandomClasses(random, 29, s.B, s.T + 4), GradientChecker.RandomClasses(random, 29, s.B, s.T + 4) };
        }).ToList(), outputs: 1);

    [Fact]
    public void Lstm_on_shrinking_and_growing_shapes_matches_fresh_workspaces_bit_for_bit() =>
        AssertSameAsFresh(s_lstm.Value, s_shapes.Select(s =>
        {
            var random = new Random(s.B * 31 + s.T);
            return new object[] { GradientChecker.RandomClasses(random, 13, s.B, s.T), GradientChecker.RandomClasses(random, 4, s.B) };
        }).ToList(), outputs: 1);

    [Fact]
    public void Conv2d_on_shrinking_and_growing_batches_matches_fresh_workspaces_bit_for_bit() =>
        // conv2d's working memory holds one slot per thread up to the batch: a smaller batch must use as many slots as fresh.
        AssertSameAsFresh(s_cnn.Value, new[] { 4, 2, 1, 3, 5, 1, 4 }.Select(b =>
        {
            var random = new Random(b);
            return new object[] { GradientChecker.RandomTensor(random, b, 1, 8, 8), GradientChecker.RandomClasses(random, 10, b) };
        }).ToList(), outputs: 1);

    [Fact]
    public void Workspace_memory_stays_one_buffer_set_at_the_largest_shapes_and_stops_growing()
    {
        var compiled = s_bert.Value;
        var model = Instance(compiled);
        var random = new Random(5);
        // 40 steps of length-bucketed batches: a new T nearly every step, the largest (4, 12) at step 10.
        var shapes = Enumerable.Range(0, 40).Select(i => i == 10 ? (B: 4, T: 12) : (B: random.Next(1, 5), T: random.Next(2, 13))).ToList();
        long largest = FreshWorkspaceBytes(compiled, 4, 12);
        long previous = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            Call(model, "TrainStep", BertBatch(random, shapes[i].B, shapes[i].T));
            long bytes = (long)Property(model, "WorkspaceBytes");
            Assert.True(bytes >= previous, $"step {i}: WorkspaceBytes fell from {previous} to {bytes}");
            Assert.True(bytes <= largest, $"step {i} {shapes[i]}: WorkspaceBytes {bytes} is more than one buffer set at (4, 12), {largest}");
            if (i >= 10) Assert.Equal(largest, bytes);
            previous = bytes;
        }
        // WorkspaceBytes is what the arrays hold: the fields of the workspace, counted here without the generated code.
        Assert.Equal(largest, ArrayBytes(Workspace(model)));

        // ReserveWorkspace sizes it at once, and calls at smaller shapes leave it as it is.
        var reserved = Instance(compiled);
        Call(reserved, "ReserveWorkspace", 4, 12, true);
        Assert.Equal(largest, (long)Property(reserved, "WorkspaceBytes"));
        foreach (var (b, t) in shapes.Take(12)) Call(reserved, "TrainStep", BertBatch(random, b, t));
        Assert.Equal(largest, (long)Property(reserved, "WorkspaceBytes"));
    }

    [Fact]
    public void Forward_Predict_and_Evaluate_size_no_gradient_buffers()
    {
        var compiled = s_bert.Value;
        var model = Instance(compiled);
        var batch = BertBatch(new Random(7), 4, 12);
        Call(model, "Forward", batch.Take(3).ToArray());
        Call(model, "Predict", batch.Take(3).ToArray());
        Call(model, "Evaluate", batch);
        long inference = (long)Property(model, "WorkspaceBytes");
        var workspace = Workspace(model);
        var gradients = workspace.GetType().GetFields().Where(f => f.Name.StartsWith("d_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(gradients);
        Assert.All(gradients, f => Assert.Empty((float[])f.GetValue(workspace)!));
        Assert.Equal(inference, ArrayBytes(workspace));

        Call(model, "TrainStep", batch);
        long training = (long)Property(model, "WorkspaceBytes");
        Assert.Equal(FreshWorkspaceBytes(compiled, 4, 12), training);
        Assert.True(training > inference * 3 / 2, $"training {training} bytes, inference {inference}");

        var reserved = Instance(compiled);
        Call(reserved, "ReserveWorkspace", 4, 12, false);
        Assert.Equal(inference, (long)Property(reserved, "WorkspaceBytes"));
    }

    [Fact]
    public void Shapes_the_workspace_holds_allocate_nothing_once_reserved()
    {
        var compiled = s_bert.Value;
        var model = Instance(compiled);
        var trainStep = compiled.Type.GetMethod("TrainStep")!.CreateDelegate<Func<IntTensor, IntTensor, IntTensor, IntTensor, float>>(model);
        var forwardAll = compiled.Type.GetMethod("ForwardAll")!;
        var random = new Random(6);
        var batches = s_shapes.Select(s => BertBatch(random, s.B, s.T)).ToList();
        Call(model, "ReserveWorkspace", 4, 8, true);
        TrainingBehaviourTests.WarmUpBlockingDispatch();
        foreach (var batch in batches) trainStep((IntTensor)batch[0], (IntTensor)batch[1], (IntTensor)batch[2], (IntTensor)batch[3]);

        // Up to three rounds (a one-time lazy allocation elsewhere can land in the first; TrainingBehaviourTests says why).
        var rounds = new List<long>();
        for (int round = 0; round < 3 && (rounds.Count == 0 || rounds[^1] != 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var batch in batches) trainStep((IntTensor)batch[0], (IntTensor)batch[1], (IntTensor)batch[2], (IntTensor)batch[3]);
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(rounds[^1] == 0, $"a round over {batches.Count} shapes allocated {string.Join(", ", rounds)} bytes");

        // The tensors ForwardAll returns are reshaped in place for each call's shapes (and describe what they hold).
        var last = batches[^1];
        var outputs = forwardAll.Invoke(model, last.Take(3).ToArray())!;
        var hidden = (Tensor)outputs.GetType().GetProperty("l5_ffn_norm")!.GetValue(outputs)!;
        Assert.Equal(new[] { 3, 8, 8 }, hidden.Shape);
        forwardAll.Invoke(model, batches[2].Take(3).ToArray());
        Assert.Equal(new[] { 1, 3, 8 }, hidden.Shape);
        Assert.Equal(24, hidden.Length);
    }

    [Fact]
    public void ReserveWorkspace_is_refused_while_another_thread_is_inside_the_model()
    {
        var model = Instance(s_bert.Value);
        var guard = (ModelGuard)model.GetType().GetField("_guard", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(model)!;
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            using var call = guard.Enter("BertClassifier.TrainStep");
            inside.Set();
            release.Wait();
        });
        holder.Start();
        inside.Wait();
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => Call(model, "ReserveWorkspace", 4, 8, true));
            Assert.StartsWith("BertClassifier.ReserveWorkspace: another thread is inside BertClassifier.TrainStep", e.Message);
            Assert.Equal(0L, (long)Property(model, "WorkspaceBytes"));
        }
        finally
        {
            release.Set();
            holder.Join();
        }
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => Call(model, "ReserveWorkspace", 0, 8, true));
        Assert.Equal("B", bad.ParamName);
        var tooLong = Assert.Throws<ArgumentException>(() => Call(model, "ReserveWorkspace", 2, 17, true));
        Assert.Contains("positional(max_len=16)", tooLong.Message);
    }

    /// <summary>
    /// Runs every batch through one instance (its workspace reused) and through a second one whose workspace is replaced
    /// by a fresh one before every call (the size of exactly that call), and compares everything bit for bit.
    /// </summary>
    private static void AssertSameAsFresh(GeneratedModel compiled, IReadOnlyList<object[]> batches, int outputs)
    {
        var reused = Instance(compiled);
        var fresh = Instance(compiled);
        string forward = outputs > 1 ? "ForwardAll" : "Forward";
        for (int i = 0; i < batches.Count; i++)
        {
            var batch = batches[i];
            var inputs = batch.Take(batch.Length - 1).ToArray();
            string at = $"call {i} ({string.Join(", ", batch.Select(t => t is Tensor f ? Shapes(f.Shape) : Shapes(((IntTensor)t).Shape)))})";

            float loss = (float)Call(reused, "TrainStep", batch);
            Renew(fresh);
            float expected = (float)Call(fresh, "TrainStep", batch);
            Assert.True(BitConverter.SingleToInt32Bits(loss) == BitConverter.SingleToInt32Bits(expected), $"{at}: loss {loss:R} vs {expected:R} with a fresh workspace");
            var parameters = Parameters(reused);
            var expectedParameters = Parameters(fresh);
            for (int k = 0; k < parameters.Count; k++)
            {
                AssertBitwise($"{at}: {parameters[k].Name}", expectedParameters[k].Value, parameters[k].Value);
                AssertBitwise($"{at}: gradient of {parameters[k].Name}", expectedParameters[k].Gradient, parameters[k].Gradient);
            }

            var output = Call(reused, forward, inputs);
            Renew(fresh);
            var expectedOutput = Call(fresh, forward, inputs);
            foreach (var (name, tensor, expectedTensor) in Tensors(output, expectedOutput))
            {
                Assert.Equal(expectedTensor.Shape, tensor.Shape);
                AssertBitwise($"{at}: {forward} {name}", expectedTensor.Span, tensor.Span);
            }
        }
    }

    private static IEnumerable<(string, Tensor, Tensor)> Tensors(object output, object expected)
    {
        if (output is Tensor t) return [("output", t, (Tensor)expected)];
        return output.GetType().GetProperties().Select(p => (p.Name, (Tensor)p.GetValue(output)!, (Tensor)p.GetValue(expected)!));
    }

    private static void AssertBitwise(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var e = MemoryMarshal.Cast<float, int>(expected);
        var a = MemoryMarshal.Cast<float, int>(actual);
        int first = e.CommonPrefixLength(a);
        Assert.True(first == e.Length, first == e.Length ? "" : $"{what}: element {first} is {actual[first]:R}, {expected[first]:R} with a fresh workspace");
    }

    /// <summary>A model instance (seed 1) with a high learning rate so every step moves every parameter, and TotalSteps for a schedule.</summary>
    private static object Instance(GeneratedModel compiled)
    {
        var model = compiled.NewInstance(1);
        compiled.Type.GetProperty("LearningRate")!.SetValue(model, 1e-2f);
        compiled.Type.GetProperty("TotalSteps")?.SetValue(model, 100);
        return model;
    }

    /// <summary>Gives <paramref name="model"/> a new, empty workspace: the next call sizes every buffer for exactly its shapes.</summary>
    private static void Renew(object model)
    {
        var field = model.GetType().GetField("_workspace", BindingFlags.NonPublic | BindingFlags.Instance)!;
        field.SetValue(model, Activator.CreateInstance(field.FieldType));
    }

    private static object Workspace(object model) =>
        model.GetType().GetField("_workspace", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(model)!;

    /// <summary>The bytes of a workspace's own arrays (the inputs and labels it points at per call are the caller's).</summary>
    private static long ArrayBytes(object workspace)
    {
        long bytes = 0;
        foreach (var field in workspace.GetType().GetFields())
        {
            if (field.Name is "ids" or "segment" or "mask" or "y") continue;
            switch (field.GetValue(workspace))
            {
                case float[] f: bytes += 4L * f.Length; break;
                case int[] n: bytes += 4L * n.Length; break;
                case IntTensor predicted: bytes += 4L * predicted.Data.Length; break;
            }
        }
        return bytes;
    }

    /// <summary>WorkspaceBytes of a new instance after one training call at exactly (<paramref name="b"/>, <paramref name="t"/>).</summary>
    private static long FreshWorkspaceBytes(GeneratedModel compiled, int b, int t)
    {
        var model = Instance(compiled);
        Call(model, "ComputeGradients", BertBatch(new Random(1), b, t));
        long bytes = (long)Property(model, "WorkspaceBytes");
        Assert.Equal(bytes, ArrayBytes(Workspace(model)));
        return bytes;
    }

    /// <summary>ids, segment, mask (each row real for 1..T tokens, the rest padding) and the label, as the example's batches.</summary>
    private static object[] BertBatch(Random random, int b, int t)
    {
        var ids = new int[b * t];
        var segment = new int[b * t];
        var mask = new int[b * t];
        for (int r = 0; r < b; r++)
        {
            int real = random.Next(1, t + 1);
            for (int j = 0; j < t; j++)
            {
                ids[r * t + j] = j < real ? random.Next(1, 50) : 0;
                segment[r * t + j] = j < real / 2 ? 0 : 1;
                mask[r * t + j] = j < real ? 1 : 0;
            }
        }
        return [new IntTensor(ids, b, t), new IntTensor(segment, b, t), new IntTensor(mask, b, t), GradientChecker.RandomClasses(random, 2, b)];
    }

    private static string Shapes(int[] shape) => "[" + string.Join(", ", shape) + "]";

    private static IReadOnlyList<Parameter> Parameters(object model) => (IReadOnlyList<Parameter>)Property(model, "Parameters");

    private static object Property(object model, string name) => model.GetType().GetProperty(name)!.GetValue(model)!;

    private static object Call(object model, string method, params object[] args)
    {
        try
        {
            return model.GetType().GetMethod(method, args.Select(a => a.GetType()).ToArray())!.Invoke(model, args)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static string Shrink(string example, params (string From, string To)[] edits)
    {
        string text = System.IO.File.ReadAllText(System.IO.Path.Combine(Support.RepoPaths.Root, example));
        foreach (var (from, to) in edits)
        {
            Assert.Contains(from, text, StringComparison.Ordinal);
            text = text.Replace(from, to, StringComparison.Ordinal);
        }
        return text;
    }
}
