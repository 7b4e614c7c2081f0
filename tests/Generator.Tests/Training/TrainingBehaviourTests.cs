using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// What the generated training API promises, checked on code generated from the example models (and a few small
/// ones), compiled against the real runtime: no allocation per step, learning, determinism, checkpoints, runtime
/// shape checks and partial batches.
/// </summary>
public sealed class TrainingBehaviourTests
{
    private const string FashionMlpPath = "examples/FashionMnist/fashion_mlp.model";
    private const string BinaryClassifierPath = "examples/BinaryClassifier/binary_classifier.model";

    // Compiled once per test run: a Roslyn compilation costs far more than the tests that use it.
    private static readonly Lazy<GeneratedModel> s_fashionMlp = new(() => GeneratedModel.CompileExample(FashionMlpPath, "FashionMlp"));
    private static readonly Lazy<GeneratedModel> s_binaryClassifier = new(() => GeneratedModel.CompileExample(BinaryClassifierPath, "BinaryClassifier"));

    private static readonly Lazy<GeneratedModel> s_fashionCnn = new(() => GeneratedModel.CompileExample("examples/FashionMnist/fashion_cnn.model", "FashionCnn"));

    private static TypedModel<IntTensor> FashionMlp(ulong seed = 1) => new(s_fashionMlp.Value, seed);

    private static TypedModel<Tensor> BinaryClassifier(ulong seed = 1) => new(s_binaryClassifier.Value, seed);

    // ───── 1. Zero allocation ─────────────────────────────────────────────────────────────────────

    [Fact]
    public void FashionMlp_TrainStep_Forward_and_Evaluate_allocate_nothing_once_warm()
    {
        var model = FashionMlp();
        var random = new Random(11);
        var x = GradientChecker.RandomTensor(random, 64, 784);
        var y = GradientChecker.RandomClasses(random, 10, 64);
        AssertNoAllocation(model, x, y);
    }

    [Fact]
    public void BinaryClassifier_TrainStep_Forward_and_Evaluate_allocate_nothing_once_warm()
    {
        var model = BinaryClassifier();
        var random = new Random(12);
        var x = GradientChecker.RandomTensor(random, 64, 10);
        var y = GradientChecker.RandomBinary(random, 64, 1);
        AssertNoAllocation(model, x, y);
    }

    [Fact]
    public void FashionCnn_TrainStep_Forward_and_Evaluate_allocate_nothing_once_warm()
    {
        // conv2d, max_pool2d, flatten (a view), dense, dropout: the layer kernels and their workspaces.
        var model = new TypedModel<IntTensor>(s_fashionCnn.Value, 1);
        var random = new Random(14);
        var x = GradientChecker.RandomTensor(random, 64, 1, 28, 28);
        var y = GradientChecker.RandomClasses(random, 10, 64);
        AssertNoAllocation(model, x, y);
    }

    [Fact]
    public void Alternating_full_and_partial_batches_allocate_nothing_once_both_sizes_are_seen()
    {
        var model = FashionMlp();
        var random = new Random(13);
        var x = GradientChecker.RandomTensor(random, 128, 784);
        var y = GradientChecker.RandomClasses(random, 10, 128);
        var xPartial = new Tensor(x.Data, 37, 784);
        var yPartial = new IntTensor(y.Data, 37);
        WarmUpBlockingDispatch();
        for (int i = 0; i < 3; i++)
        {
            model.TrainStep(x, y);
            model.TrainStep(xPartial, yPartial);
        }

        // Steady state means every round of ten steps allocates nothing. Under the full parallel test run one round
        // allocated 4,808 bytes once (a one-time lazy allocation while another test class held the worker pool; not
        // reproduced alone), so up to three rounds are measured: a per-step allocation shows in every round and fails.
        var rounds = new List<long>();
        for (int round = 0; round < 3 && (rounds.Count == 0 || rounds[^1] != 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++)
            {
                model.TrainStep(x, y);
                model.TrainStep(xPartial, yPartial);
            }
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(rounds[^1] == 0, $"10 TrainSteps alternating B=128 and B=37 allocated {string.Join(", then ", rounds)} bytes in {rounds.Count} rounds");
    }

    internal static void AssertNoAllocation<TInput, TLabel>(TypedModel<TInput, TLabel> model, TInput x, TLabel y)
        where TInput : class
        where TLabel : class
    {
        var trainStep = model.TrainStep;
        var forward = model.Forward;
        var evaluate = model.Evaluate;

        // Warm-up: plans the workspace, runs every static constructor, starts the CPU workers and JITs everything.
        WarmUpBlockingDispatch();
        for (int i = 0; i < 5; i++)
        {
            trainStep(x, y);
            forward(x);
            evaluate(x, y);
        }

        Thread.Sleep(20); // workers record their allocation counters after a dispatch
        long workersBefore = CpuWorkers.WorkerAllocatedBytes;

        // Up to three rounds of 20 calls each; only the last round counts. Under the full parallel test run a one-time
        // allocation (4,808 and 8,136 bytes seen, not reproducible alone) can land in the first round; an allocation per
        // call still shows in every round.
        float loss = 0;
        long Rounds(System.Action call)
        {
            long allocated = 0;
            for (int round = 0; round < 3; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 20; i++) call();
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (allocated == 0) break;
            }
            return allocated;
        }

        long trainAllocated = Rounds(() => loss += trainStep(x, y));
        long forwardAllocated = Rounds(() => forward(x));
        long evaluateAllocated = Rounds(() => loss += evaluate(x, y));

        Thread.Sleep(20);
        long workersAllocated = CpuWorkers.WorkerAllocatedBytes - workersBefore;

        Assert.True(float.IsFinite(loss));
        Assert.True(model.Step is 25 or 45 or 65, $"Step is {model.Step} after 5 warm-up and 1 to 3 rounds of 20 TrainSteps");
        Assert.True(trainAllocated == 0, $"20 TrainSteps allocated {trainAllocated} bytes");
        Assert.True(forwardAllocated == 0, $"20 Forward calls allocated {forwardAllocated} bytes");
        Assert.True(evaluateAllocated == 0, $"20 Evaluate calls allocated {evaluateAllocated} bytes");
        Assert.True(workersAllocated == 0, $"the CPU worker threads allocated {workersAllocated} bytes");
    }

    /// <summary>
    /// Makes one CPU dispatch whose caller finishes first and has to block for the workers. The first such wait in a
    /// process allocates 24 bytes: <c>CpuWorkers.Done</c> (Runtime/Cpu/CpuWorkers.cs:65) is a ManualResetEventSlim,
    /// which creates its lock object lazily on its first blocking <c>Wait()</c> (CpuWorkers.cs:205). Whether a
    /// training step is the first to block depends on scheduling (a worker preempted for 200 µs), so without this the
    /// tests above fail now and then with exactly 24 bytes. A one-time, process-wide cost, reported to the runtime's
    /// owners; the tests here measure the generated code's steady state.
    /// </summary>
    internal static void WarmUpBlockingDispatch()
    {
        if (CpuWorkers.ThreadCount < 2) return;
        var job = new SlowWorkersJob { Caller = Environment.CurrentManagedThreadId };
        CpuWorkers.Run(job, 2 * CpuWorkers.ThreadCount);
    }

    /// <summary>Every index sleeps, the caller's briefly and the workers' longer, so the caller ends up waiting.</summary>
    private sealed class SlowWorkersJob : ParallelJob
    {
        public int Caller;

        public override void Run(int index) => Thread.Sleep(Environment.CurrentManagedThreadId == Caller ? 1 : 5);
    }

    // ───── 2. Training learns ─────────────────────────────────────────────────────────────────────

    [Fact]
    public void BinaryClassifier_learns_a_nonlinear_rule_to_90_percent_held_out_accuracy()
    {
        const int Features = 10, Count = 5000, TrainCount = 4000, Batch = 32;
        var random = new Random(2024);
        var xs = new float[Count * Features];
        var ys = new float[Count];
        for (int i = 0; i < Count; i++)
        {
            var row = xs.AsSpan(i * Features, Features);
            for (int f = 0; f < Features; f++) row[f] = (float)(random.NextDouble() * 2 - 1);
            // An interaction, a curve and a linear term (not linearly separable); features 4..9 are noise.
            ys[i] = row[0] * row[1] + 0.5f * MathF.Sin(3 * row[2]) + row[3] > 0 ? 1f : 0f;
        }

        Assert.InRange(ys.Sum(), 0.3f * Count, 0.7f * Count);
        var model = BinaryClassifier(seed: 3);
        var testX = new Tensor(xs.AsSpan(TrainCount * Features).ToArray(), Count - TrainCount, Features);
        var testY = new Tensor(ys.AsSpan(TrainCount).ToArray(), Count - TrainCount, 1);
        float initialAccuracy = (float)Metrics.CountCorrectBinary(model.Forward(testX).Span, testY.Span, 0.5f) / testY.Length;
        float initialTestLoss = model.Evaluate(testX, testY);

        var epochLosses = TrainEpochs(model, xs, ys, Features, 1, TrainCount, Batch, epochs: 20, (data, shape) => new Tensor(data, shape));

        int correct = Metrics.CountCorrectBinary(model.Forward(testX).Span, testY.Span, 0.5f);
        float accuracy = (float)correct / testY.Length;
        float testLoss = model.Evaluate(testX, testY);
        Assert.True(accuracy >= 0.9f, $"held-out accuracy {accuracy:P1} (from {initialAccuracy:P1}); epoch losses {string.Join(", ", epochLosses.Select(l => l.ToString("F4")))}");
        Assert.True(epochLosses[^1] < 0.5f * epochLosses[0], $"training loss went {epochLosses[0]} -> {epochLosses[^1]}");
        Assert.True(testLoss < 0.5f * initialTestLoss, $"held-out loss went {initialTestLoss} -> {testLoss}");
        Assert.Equal(20 * (TrainCount / Batch), model.Step);
    }

    [Fact]
    public void Cross_entropy_model_learns_three_classes()
    {
        var compiled = GeneratedModel.Compile("""
            model Sectors {
                input x: f32[B, 2]
                label y: i32[B]
                logits = x -> dense(32) -> tanh -> dense(32) -> tanh -> dense(3)
                output logits
                loss cross_entropy(logits, y)
                optimizer adam(lr=0.01)
            }
            """, "Sectors");
        // Three classes: the sector (of three, 120° each) a point lies in around the origin — no class is linearly separable from the other two.
        const int Count = 1500, TrainCount = 1200, Batch = 50;
        var random = new Random(7);
        var xs = new float[Count * 2];
        var ys = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            float a = (float)(random.NextDouble() * 2 - 1), b = (float)(random.NextDouble() * 2 - 1);
            xs[2 * i] = a;
            xs[2 * i + 1] = b;
            double angle = Math.Atan2(b, a) + Math.PI; // 0..2π
            ys[i] = Math.Min(2, (int)(angle / (2 * Math.PI / 3)));
        }

        Assert.All(Enumerable.Range(0, 3), c => Assert.InRange(ys.Count(y => y == c), Count / 5, Count / 2));
        var model = new TypedModel<IntTensor>(compiled, 5);
        var testX = new Tensor(xs.AsSpan(TrainCount * 2).ToArray(), Count - TrainCount, 2);
        int[] testY = ys.AsSpan(TrainCount).ToArray();
        float initial = model.Evaluate(testX, new IntTensor(testY, testY.Length));

        var losses = TrainEpochs(model, xs, ys, 2, 1, TrainCount, Batch, epochs: 15, (data, shape) => new IntTensor(data, shape.AsSpan(0, 1).ToArray()));

        var logits = model.Forward(testX);
        Assert.Equal(new[] { testY.Length, 3 }, logits.Shape);
        float accuracy = (float)Metrics.CountCorrect(logits.Span, testY.Length, 3, testY) / testY.Length;
        Assert.True(accuracy >= 0.9f, $"held-out accuracy {accuracy:P1}; epoch losses {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        Assert.True(losses[^1] < 0.5f * initial, $"loss went {initial} (untrained) -> {losses[0]} -> {losses[^1]}");
    }

    [Theory]
    [InlineData("sgd(lr=0.02, momentum=0.9)", 1)]
    [InlineData("sgd(lr=0.02, momentum=0.9, nesterov=true)", 1)]
    [InlineData("adam(lr=0.01)", 2)]
    [InlineData("adamw(lr=0.01, weight_decay=0.01)", 2)]
    public void Optimizers_decrease_a_regression_loss(string optimizer, int stateBuffers)
    {
        var compiled = GeneratedModel.Compile($$"""
            model Regressor {
                input x: f32[B, 4]
                label y: f32[B, 1]
                h = x -> dense(16) -> tanh -> dense(1)
                output h
                loss mse(h, y)
                optimizer {{optimizer}}
            }
            """, "Regressor");
        const int Count = 512, Batch = 32;
        var random = new Random(9);
        var xs = new float[Count * 4];
        var ys = new float[Count];
        for (int i = 0; i < Count; i++)
        {
            var row = xs.AsSpan(i * 4, 4);
            for (int f = 0; f < 4; f++) row[f] = (float)(random.NextDouble() * 2 - 1);
            ys[i] = MathF.Sin(2 * row[0]) + 0.5f * row[1] * row[2] - 0.3f * row[3];
        }

        var model = new TypedModel<Tensor>(compiled, 2);
        Assert.All(model.Parameters, p => Assert.Equal(stateBuffers, p.StateCount));
        var allX = new Tensor(xs, Count, 4);
        var allY = new Tensor(ys, Count, 1);
        float initial = model.Evaluate(allX, allY);

        TrainEpochs(model, xs, ys, 4, 1, Count, Batch, epochs: 25, (data, shape) => new Tensor(data, shape));

        float final = model.Evaluate(allX, allY);
        Assert.True(final < 0.05f * initial, $"{optimizer}: full-data loss went {initial} -> {final}");
        // The optimizer's state was really used (momentum velocity, Adam moments), not just allocated.
        Assert.All(model.Parameters, p => Assert.Contains(p.State1, v => v != 0f));
    }

    /// <summary>Mini-batch epochs over the first <paramref name="trainCount"/> rows, batches copied into tensors reused every step; returns each epoch's mean loss.</summary>
    private static List<float> TrainEpochs<TLabel, TElement>(TypedModel<TLabel> model, float[] xs, TElement[] ys, int features, int labelWidth,
        int trainCount, int batch, int epochs, Func<TElement[], int[], TLabel> makeLabel)
        where TLabel : class
    {
        var x = new Tensor(new float[batch * features], batch, features);
        var yData = new TElement[batch * labelWidth];
        var y = makeLabel(yData, [batch, labelWidth]);
        var order = Enumerable.Range(0, trainCount).ToArray();
        var shuffle = new Random(1);
        var losses = new List<float>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            shuffle.Shuffle(order);
            double total = 0;
            int steps = 0;
            for (int start = 0; start + batch <= trainCount; start += batch)
            {
                for (int r = 0; r < batch; r++)
                {
                    int row = order[start + r];
                    xs.AsSpan(row * features, features).CopyTo(x.Data.AsSpan(r * features));
                    ys.AsSpan(row * labelWidth, labelWidth).CopyTo(yData.AsSpan(r * labelWidth));
                }

                float loss = model.TrainStep(x, y);
                Assert.True(float.IsFinite(loss), $"epoch {epoch}: loss {loss}");
                total += loss;
                steps++;
            }

            losses.Add((float)(total / steps));
        }

        return losses;
    }

    // ───── 3. Determinism ─────────────────────────────────────────────────────────────────────────

    [Fact]
    public void Same_seed_gives_bit_identical_training_and_different_seeds_differ()
    {
        var random = new Random(21);
        var x = GradientChecker.RandomTensor(random, 48, 784);
        var y = GradientChecker.RandomClasses(random, 10, 48);
        var a = FashionMlp(seed: 42);
        var b = FashionMlp(seed: 42);
        var c = FashionMlp(seed: 43);
        Assert.True(a.Snapshot().BitEquals(b.Snapshot()), "same seed, different initial weights: " + a.Snapshot().FirstDifference(b.Snapshot()));
        Assert.False(a.Snapshot().BitEquals(c.Snapshot()), "seeds 42 and 43 gave the same initial weights");

        var lossesA = new List<float>();
        var lossesB = new List<float>();
        for (int i = 0; i < 6; i++)
        {
            lossesA.Add(a.TrainStep(x, y));
            lossesB.Add(b.TrainStep(x, y));
            c.TrainStep(x, y);
        }

        Assert.Equal(lossesA, lossesB);
        var afterA = a.Snapshot();
        Assert.True(afterA.BitEquals(b.Snapshot()), "same seed, different weights after 6 steps: " + afterA.FirstDifference(b.Snapshot()));
        Assert.False(afterA.BitEquals(c.Snapshot()), "different seeds, same weights after 6 steps");
        Assert.Equal(6, afterA.Step);

        // Initialize() redraws the seed's initial weights and resets the optimizer.
        a.Initialize();
        Assert.True(a.Snapshot().BitEquals(FashionMlp(seed: 42).Snapshot()), "Initialize() did not restore the seed's initial state: " + a.Snapshot().FirstDifference(FashionMlp(seed: 42).Snapshot()));
    }

    [Fact]
    public void Forward_is_deterministic_with_dropout_off_and_Evaluate_matches_its_output()
    {
        var random = new Random(22);
        var x = GradientChecker.RandomTensor(random, 40, 784);
        var y = GradientChecker.RandomClasses(random, 10, 40);
        var model = FashionMlp(seed: 4);
        for (int i = 0; i < 3; i++) model.TrainStep(x, y);

        float[] first = model.ForwardCopy(x);
        float[] second = model.ForwardCopy(x);
        Assert.True(Bits.Equal(first, second), "Forward gave different outputs for the same input");
        Assert.True(Bits.Equal(first, model.ForwardCopy(x)), "Forward changed after a Forward call");
        Assert.Equal(3, model.Step);

        // Evaluate = mean softmax cross-entropy of Forward's logits.
        double expected = 0;
        for (int r = 0; r < 40; r++)
        {
            var row = first.AsSpan(r * 10, 10);
            double max = row.ToArray().Max();
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            expected += Math.Log(sum) + max - row[y.Data[r]];
        }

        expected /= 40;
        float evaluated = model.Evaluate(x, y);
        Assert.True(Math.Abs(evaluated - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"Evaluate {evaluated}, cross-entropy of Forward's output {expected}");
        Assert.Equal(evaluated, model.Evaluate(x, y));

        // Training mode really applies dropout (p = 0.1): the training loss differs from the evaluation loss, and
        // ComputeGradients neither steps nor changes Forward.
        float trainingLoss = model.ComputeGradients(x, y);
        Assert.NotEqual(evaluated, trainingLoss);
        Assert.Equal(3, model.Step);
        Assert.True(Bits.Equal(first, model.ForwardCopy(x)), "ComputeGradients changed the parameters");
    }

    [Fact]
    public void BinaryClassifier_Forward_is_the_sigmoid_of_the_logit_Evaluate_scores()
    {
        var random = new Random(23);
        var x = GradientChecker.RandomTensor(random, 30, 10);
        var y = GradientChecker.RandomBinary(random, 30, 1);
        var model = BinaryClassifier(seed: 8);
        for (int i = 0; i < 10; i++) model.TrainStep(x, y);

        float[] p = model.ForwardCopy(x);
        Assert.All(p, v => Assert.InRange(v, 0f, 1f));
        double expected = 0;
        for (int i = 0; i < p.Length; i++) expected -= y.Data[i] == 1f ? Math.Log(p[i]) : Math.Log(1 - p[i]);
        expected /= p.Length;
        float evaluated = model.Evaluate(x, y);
        Assert.True(Math.Abs(evaluated - expected) <= 1e-4 * Math.Max(1, expected), $"Evaluate {evaluated}, BCE of Forward's probabilities {expected}");

        // No dropout in this model: the training-mode loss is the evaluation loss.
        Assert.Equal(evaluated, model.ComputeGradients(x, y), 6);
    }

    // ───── 4. Checkpoints ─────────────────────────────────────────────────────────────────────────

    [Fact]
    public void Save_then_Load_restores_weights_optimizer_state_step_and_learning_rate()
    {
        var random = new Random(31);
        var x = GradientChecker.RandomTensor(random, 32, 784);
        var y = GradientChecker.RandomClasses(random, 10, 32);
        var trained = FashionMlp(seed: 6);
        // A schedule's current rate, not the .model file's: a resumed run continues from it.
        trained.LearningRate = 3.7e-4f;
        for (int i = 0; i < 4; i++) trained.TrainStep(x, y);
        string path = Path.Combine(Path.GetTempPath(), $"modeldsl-{Guid.NewGuid():N}.ckpt");
        try
        {
            trained.Save(path);
            Assert.True(File.Exists(path));

            // A different seed: everything Forward depends on must come from the file.
            var restored = FashionMlp(seed: 99);
            Assert.False(restored.Snapshot().BitEquals(trained.Snapshot()));
            restored.Load(path);
            Assert.True(restored.Snapshot().BitEquals(trained.Snapshot()), "after Load: " + restored.Snapshot().FirstDifference(trained.Snapshot()));
            Assert.Equal(4, restored.Step);
            Assert.Equal(3.7e-4f, restored.LearningRate);
            Assert.True(Bits.Equal(trained.ForwardCopy(x), restored.ForwardCopy(x)), "Forward differs after Load");
            Assert.Equal(trained.Evaluate(x, y), restored.Evaluate(x, y));

            // Resuming: with the same seed (dropout masks depend on seed and step) training continues bit for bit.
            var resumed = FashionMlp(seed: 6);
            resumed.Load(path);
            for (int i = 0; i < 2; i++) Assert.Equal(trained.TrainStep(x, y), resumed.TrainStep(x, y));
            Assert.True(resumed.Snapshot().BitEquals(trained.Snapshot()), "resumed training diverged: " + resumed.Snapshot().FirstDifference(trained.Snapshot()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_rejects_another_models_checkpoint_and_corrupt_files_leaving_parameters_unchanged()
    {
        var random = new Random(32);
        var x = GradientChecker.RandomTensor(random, 16, 784);
        var y = GradientChecker.RandomClasses(random, 10, 16);

        // The same class name with a smaller hidden layer, compiled separately.
        string text = File.ReadAllText(Path.Combine(Support.RepoPaths.Root, FashionMlpPath)).Replace("hidden = 256", "hidden = 128", StringComparison.Ordinal);
        Assert.Contains("hidden = 128", text, StringComparison.Ordinal);
        var smaller = new TypedModel<IntTensor>(GeneratedModel.Compile(text, "FashionMlp", path: "fashion_mlp.model"), 1);
        Assert.Equal(new[] { 128, 784 }, smaller.Parameters[0].Shape);

        var model = FashionMlp(seed: 7);
        model.TrainStep(x, y);
        var before = model.Snapshot();
        float[] forwardBefore = model.ForwardCopy(x);
        string folder = Path.Combine(Path.GetTempPath(), $"modeldsl-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string otherModel = Path.Combine(folder, "smaller.ckpt");
            smaller.TrainStep(x, y);
            smaller.Save(otherModel);
            var mismatch = Assert.Throws<InvalidDataException>(() => model.Load(otherModel));
            Assert.Contains("logits.0.weight", mismatch.Message, StringComparison.Ordinal);
            Assert.Contains("[128, 784]", mismatch.Message, StringComparison.Ordinal);
            Assert.Contains("[256, 784]", mismatch.Message, StringComparison.Ordinal);
            AssertUnchanged();

            // A good checkpoint of this model with one byte flipped in the middle of the weights (checksum), then cut short.
            string good = Path.Combine(folder, "good.ckpt");
            FashionMlp(seed: 8).Save(good);
            byte[] bytes = File.ReadAllBytes(good);
            string corrupt = Path.Combine(folder, "corrupt.ckpt");
            byte[] flipped = (byte[])bytes.Clone();
            flipped[flipped.Length / 2] ^= 0x40;
            File.WriteAllBytes(corrupt, flipped);
            Assert.Throws<InvalidDataException>(() => model.Load(corrupt));
            AssertUnchanged();

            string truncated = Path.Combine(folder, "truncated.ckpt");
            File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 100).ToArray());
            Assert.Throws<InvalidDataException>(() => model.Load(truncated));
            AssertUnchanged();

            string garbage = Path.Combine(folder, "garbage.ckpt");
            File.WriteAllText(garbage, "not a checkpoint at all, just some text that is long enough to have a header");
            Assert.Throws<InvalidDataException>(() => model.Load(garbage));
            AssertUnchanged();

            // The intact file still loads (so the failures above were about the damage, not the file).
            model.Load(good);
            Assert.Equal(0, model.Step);
            Assert.True(model.Snapshot().BitEquals(FashionMlp(seed: 8).Snapshot()));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        void AssertUnchanged()
        {
            Assert.True(model.Snapshot().BitEquals(before), "a failed Load changed the model: " + model.Snapshot().FirstDifference(before));
            Assert.True(Bits.Equal(forwardBefore, model.ForwardCopy(x)));
        }
    }

    // ───── 5. Runtime shape checks ────────────────────────────────────────────────────────────────

    [Fact]
    public void Wrong_input_width_names_model_method_input_and_both_shapes()
    {
        var model = FashionMlp();
        var before = model.Snapshot();
        var random = new Random(41);
        var x = GradientChecker.RandomTensor(random, 8, 785);
        var y = GradientChecker.RandomClasses(random, 10, 8);

        var train = Assert.ThrowsAny<ArgumentException>(() => model.TrainStep(x, y));
        Assert.Contains("FashionMlp.TrainStep", train.Message, StringComparison.Ordinal);
        Assert.Contains("'x'", train.Message, StringComparison.Ordinal);
        Assert.Contains("[B, 784]", train.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 785]", train.Message, StringComparison.Ordinal);

        var forward = Assert.ThrowsAny<ArgumentException>(() => model.Forward(x));
        Assert.Contains("FashionMlp.Forward", forward.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 785]", forward.Message, StringComparison.Ordinal);

        var rank = Assert.ThrowsAny<ArgumentException>(() => model.Evaluate(new Tensor(new float[784 * 8], 8, 28, 28), y));
        Assert.Contains("FashionMlp.Evaluate", rank.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 28, 28]", rank.Message, StringComparison.Ordinal);

        var binary = BinaryClassifier();
        var wrongFeatures = Assert.ThrowsAny<ArgumentException>(() => binary.TrainStep(GradientChecker.RandomTensor(random, 4, 11), GradientChecker.RandomBinary(random, 4, 1)));
        Assert.Contains("BinaryClassifier.TrainStep", wrongFeatures.Message, StringComparison.Ordinal);
        Assert.Contains("[B, 10]", wrongFeatures.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 11]", wrongFeatures.Message, StringComparison.Ordinal);

        Assert.True(model.Snapshot().BitEquals(before));
    }

    [Fact]
    public void Labels_with_another_batch_size_name_the_symbolic_dimension()
    {
        var model = FashionMlp();
        var before = model.Snapshot();
        var random = new Random(42);
        var x = GradientChecker.RandomTensor(random, 8, 784);

        var e = Assert.ThrowsAny<ArgumentException>(() => model.TrainStep(x, GradientChecker.RandomClasses(random, 10, 7)));
        Assert.Contains("FashionMlp.TrainStep", e.Message, StringComparison.Ordinal);
        Assert.Contains("symbolic dimension B", e.Message, StringComparison.Ordinal);
        Assert.Contains("'y'", e.Message, StringComparison.Ordinal);
        Assert.Contains("8", e.Message, StringComparison.Ordinal);
        Assert.Contains("7", e.Message, StringComparison.Ordinal);

        var binary = BinaryClassifier();
        var f = Assert.ThrowsAny<ArgumentException>(() => binary.Evaluate(GradientChecker.RandomTensor(random, 8, 10), GradientChecker.RandomBinary(random, 9, 1)));
        Assert.Contains("BinaryClassifier.Evaluate", f.Message, StringComparison.Ordinal);
        Assert.Contains("symbolic dimension B", f.Message, StringComparison.Ordinal);

        var g = Assert.ThrowsAny<ArgumentException>(() => binary.TrainStep(GradientChecker.RandomTensor(random, 8, 10), GradientChecker.RandomBinary(random, 8, 2)));
        Assert.Contains("[B, 1]", g.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 2]", g.Message, StringComparison.Ordinal);

        Assert.True(model.Snapshot().BitEquals(before));
        Assert.Equal(0, binary.Step);
    }

    [Theory]
    [InlineData(5, 10)]
    [InlineData(0, -1)]
    [InlineData(7, 1000)]
    public void A_class_id_out_of_range_names_the_model_the_label_and_the_position_and_changes_nothing(int row, int label)
    {
        var model = FashionMlp();
        var random = new Random(43);
        var x = GradientChecker.RandomTensor(random, 8, 784);
        var y = GradientChecker.RandomClasses(random, 10, 8);
        model.TrainStep(x, y);
        var before = model.Snapshot();
        var gradients = model.Parameters.Select(p => p.Gradient.ToArray()).ToList();
        y.Data[row] = label;

        foreach (var call in new Func<Tensor, IntTensor, float>[] { model.TrainStep, model.Evaluate, model.ComputeGradients })
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => call(x, y));
            Assert.Contains(label.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
            Assert.Contains($"label 'y' holds {label.ToString(System.Globalization.CultureInfo.InvariantCulture)} at position {row}", e.Message, StringComparison.Ordinal);
            Assert.StartsWith("FashionMlp.", e.Message, StringComparison.Ordinal);
        }

        Assert.True(model.Snapshot().BitEquals(before), "a rejected batch changed the model: " + model.Snapshot().FirstDifference(before));
        Assert.All(model.Parameters.Zip(gradients), pair => Assert.True(Bits.Equal(pair.First.Gradient, pair.Second), pair.First.Name + " gradient changed"));
    }

    // ───── 6. Partial batches ─────────────────────────────────────────────────────────────────────

    [Fact]
    public void Batch_size_can_change_between_calls_and_rows_do_not_depend_on_the_batch()
    {
        var random = new Random(51);
        var x = GradientChecker.RandomTensor(random, 128, 784);
        var y = GradientChecker.RandomClasses(random, 10, 128);
        var model = FashionMlp(seed: 10);
        var twin = FashionMlp(seed: 10);

        // The last, partial batch of an epoch: the same arrays, shape [37, ...] (Tensor.SetBatch).
        var xPartial = new Tensor(x.Data, 128, 784);
        var yPartial = new IntTensor(y.Data, 128);
        xPartial.SetBatch(37);
        yPartial.SetBatch(37);
        var xCopy = new Tensor(x.Data.AsSpan(0, 37 * 784).ToArray(), 37, 784); // exactly-sized arrays
        var yCopy = new IntTensor(y.Data.AsSpan(0, 37).ToArray(), 37);

        Assert.True(float.IsFinite(model.TrainStep(x, y)));
        float partialLoss = model.TrainStep(xPartial, yPartial);
        Assert.True(float.IsFinite(model.TrainStep(x, y)));
        Assert.Equal(3, model.Step);
        twin.TrainStep(x, y);
        Assert.Equal(partialLoss, twin.TrainStep(xCopy, yCopy)); // a tensor over a larger array reads only its rows
        twin.TrainStep(x, y);
        Assert.True(model.Snapshot().BitEquals(twin.Snapshot()), model.Snapshot().FirstDifference(twin.Snapshot()));

        float[] full = model.ForwardCopy(x);
        Assert.Equal(new[] { 128, 10 }, model.Forward(x).Shape);
        var partial = model.Forward(xPartial);
        Assert.Equal(new[] { 37, 10 }, partial.Shape);
        Assert.Equal(37 * 10, partial.Length);
        Assert.True(Bits.Equal(full.AsSpan(0, 370), partial.Span), "Forward on 37 rows differs from the first 37 rows of Forward on 128");
        Assert.True(Bits.Equal(full.AsSpan(0, 370), model.ForwardCopy(xCopy)));

        // Every row on its own, and more batch sizes than the model keeps workspaces for, then back to 128. From 3 rows
        // up every row is bit-identical to the same row of the full batch. One or two rows take Sgemm's dot-product
        // path (no packing: the batch-1 Predict), which sums each product in a different order, so they agree to
        // rounding only.
        foreach (int b in new[] { 1, 2, 3, 5, 64, 127, 37 })
        {
            var slice = new Tensor(x.Data, 128, 784);
            slice.SetBatch(b);
            var rows = model.Forward(slice).Span;
            if (b > 2)
            {
                Assert.True(Bits.Equal(full.AsSpan(0, b * 10), rows), $"Forward on the first {b} rows differs");
                continue;
            }
            for (int i = 0; i < b * 10; i++)
                Assert.True(Math.Abs(rows[i] - full[i]) <= 1e-5f * (1 + Math.Abs(full[i])), $"Forward on the first {b} rows: element {i} is {rows[i]}, {full[i]} in the full batch");
        }

        Assert.True(Bits.Equal(full, model.ForwardCopy(x)), "Forward on 128 rows changed after other batch sizes");

        // Evaluate agrees between the 37-row views too.
        Assert.Equal(model.Evaluate(xCopy, yCopy), model.Evaluate(xPartial, yPartial));
    }
}
