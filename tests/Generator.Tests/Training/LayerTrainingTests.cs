using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The layer examples (FashionCnn, FortuneLstm, CharGpt) through their generated training API: they learn, a steady
/// step allocates nothing, and what only the call can know (sequence length, token ids) is checked on entry with
/// messages naming the model, the input and the layer.
/// </summary>
public sealed class LayerTrainingTests
{
    private static readonly Lazy<GeneratedModel> s_fashionCnn = new(() => GeneratedModel.CompileExample("examples/FashionMnist/fashion_cnn.model", "FashionCnn"));
    private static readonly Lazy<GeneratedModel> s_fortuneLstm = new(() => GeneratedModel.CompileExample("examples/TextLstm/fortune_lstm.model", "FortuneLstm"));
    private static readonly Lazy<GeneratedModel> s_charGpt = new(() => GeneratedModel.CompileExample("examples/CharGpt/char_gpt.model", "CharGpt"));

    [Fact]
    public void FashionCnn_loss_falls_on_the_shipped_sample()
    {
        var data = MnistLike.Load(Path.Combine(Support.RepoPaths.Root, FashionMnist.SampleFolder), MnistSplit.Train);
        const int Batch = 64, Steps = 12, Held = 256;
        Assert.True(data.Count >= Batch * Steps / 2 + Held, $"the sample has {data.Count} images");
        var model = new TypedModel<IntTensor>(s_fashionCnn.Value, 3);
        Tensor Images(int start, int count) => new(data.Features.AsSpan(start * 784, count * 784).ToArray(), count, 1, 28, 28);
        IntTensor Labels(int start, int count) => new(data.Labels.AsSpan(start, count).ToArray(), count);
        var heldX = Images(data.Count - Held, Held);
        var heldY = Labels(data.Count - Held, Held);

        float before = model.Evaluate(heldX, heldY);
        for (int step = 0; step < Steps; step++)
        {
            int start = step % (Steps / 2) * Batch; // two passes over 384 images
            Assert.True(float.IsFinite(model.TrainStep(Images(start, Batch), Labels(start, Batch))));
        }
        float after = model.Evaluate(heldX, heldY);
        Assert.True(after < 0.75f * before, $"held-out loss went {before} -> {after} in {Steps} Adam steps");
        int correct = Metrics.CountCorrect(model.Forward(heldX).Span, Held, 10, heldY.Data);
        Assert.True(correct > Held / 3, $"{correct} of {Held} held-out images right after {Steps} steps");
    }

    [Fact]
    public void FortuneLstm_loss_falls_on_random_tokens()
    {
        var model = new TypedModel<IntTensor, IntTensor>(s_fortuneLstm.Value, 4);
        var random = new Random(61);
        var tokens = GradientChecker.RandomClasses(random, 8192, 16, 12);
        var labels = GradientChecker.RandomClasses(random, 4, 16);
        float first = model.TrainStep(tokens, labels);
        float last = first;
        for (int step = 0; step < 25; step++) last = model.TrainStep(tokens, labels);
        Assert.True(last < 0.5f * first, $"loss on one batch went {first} -> {last} in 26 Adam steps");
        Assert.Equal(new[] { 16, 4 }, model.Forward(tokens).Shape);
    }

    [Fact]
    public void CharGpt_loss_falls_on_random_tokens()
    {
        var model = new TypedModel<IntTensor, IntTensor>(s_charGpt.Value, 5);
        var random = new Random(62);
        var idx = GradientChecker.RandomClasses(random, 96, 4, 32);
        var targets = GradientChecker.RandomClasses(random, 96, 4, 32);
        float first = model.TrainStep(idx, targets);
        Assert.InRange(first, 4.0f, 5.5f); // about ln 96 = 4.56 from a fresh model
        float last = first;
        for (int step = 0; step < 20; step++) last = model.TrainStep(idx, targets);
        Assert.True(last < first - 0.5f, $"loss on one batch went {first} -> {last} in 21 AdamW steps");
        Assert.Equal(new[] { 4, 32, 96 }, model.Forward(idx).Shape);
    }

    [Fact]
    public void FortuneLstm_and_CharGpt_steps_allocate_nothing_once_warm()
    {
        var random = new Random(63);
        var lstm = new TypedModel<IntTensor, IntTensor>(s_fortuneLstm.Value, 1);
        TrainingBehaviourTests.AssertNoAllocation(lstm, GradientChecker.RandomClasses(random, 8192, 8, 10), GradientChecker.RandomClasses(random, 4, 8));
        var gpt = new TypedModel<IntTensor, IntTensor>(s_charGpt.Value, 1);
        TrainingBehaviourTests.AssertNoAllocation(gpt, GradientChecker.RandomClasses(random, 96, 2, 16), GradientChecker.RandomClasses(random, 96, 2, 16));
    }

    [Fact]
    public void A_sequence_longer_than_the_positional_table_names_the_model_the_input_and_the_limit()
    {
        var model = new TypedModel<IntTensor, IntTensor>(s_charGpt.Value, 1);
        var random = new Random(64);
        var before = model.Snapshot();
        var e = Assert.ThrowsAny<ArgumentException>(() => model.TrainStep(GradientChecker.RandomClasses(random, 96, 2, 65), GradientChecker.RandomClasses(random, 96, 2, 65)));
        Assert.Equal("CharGpt.TrainStep: input 'idx' has T = 65, but positional(max_len=64) 'pos' at char_gpt.model:24 allows at most 64", e.Message);
        Assert.True(model.Snapshot().BitEquals(before));

        // Shorter sequences than the table are fine, and rows do not depend on later positions (causal attention).
        var idx = GradientChecker.RandomClasses(random, 96, 1, 64);
        float[] full = model.ForwardCopy(idx);
        float[] prefix = model.ForwardCopy(new IntTensor(idx.Data.AsSpan(0, 10).ToArray(), 1, 10));
        for (int i = 0; i < prefix.Length; i++) Assert.Equal(full[i], prefix[i], 4);
    }

    [Fact]
    public void A_token_id_outside_the_vocabulary_names_the_model_the_input_and_the_position()
    {
        var model = new TypedModel<IntTensor, IntTensor>(s_charGpt.Value, 1);
        var random = new Random(65);
        var idx = GradientChecker.RandomClasses(random, 96, 2, 8);
        idx.Data[11] = 96;
        var e = Assert.ThrowsAny<ArgumentException>(() => model.Forward(idx));
        Assert.Equal("CharGpt.Forward: input 'idx' holds 96 at position 11; embedding 'tok' has ids 0..95", e.Message);
        Assert.Equal(0, model.Step);
    }

    // padding_idx=-8 is row 0 of 8 (counted from the end, as PyTorch): it starts at zero and stays zero through Adam
    // steps on ids that use it, while the other rows the ids pick move.
    [Fact]
    public void Embedding_padding_row_starts_at_zero_and_stays_zero_while_training()
    {
        const string Text = """
            model Padded {
                input tokens: i32[B, 4]
                label y: i32[B]
                embedded = embedding(tokens, 8, 5, padding_idx=-8)
                logits = embedded -> flatten -> dense(3)
                output logits
                loss cross_entropy(logits, y)
                optimizer adam(lr=1e-2)
            }
            """;
        var model = new TypedModel<IntTensor, IntTensor>(GeneratedModel.Compile(Text, "Padded"), 5);
        var table = model.Parameters.Single(p => p.Name == "embedded.weight");
        Assert.All(table.Value.AsSpan(0, 5).ToArray(), v => Assert.Equal(0f, v));
        float[] rowOne = table.Value.AsSpan(5, 5).ToArray();
        Assert.Contains(rowOne, v => v != 0f);
        var tokens = new IntTensor([0, 1, 0, 2, 1, 0, 3, 0], 2, 4);
        var labels = new IntTensor([1, 2], 2);
        for (int step = 0; step < 5; step++) Assert.True(float.IsFinite(model.TrainStep(tokens, labels)));
        Assert.All(table.Value.AsSpan(0, 5).ToArray(), v => Assert.Equal(0f, v));
        Assert.NotEqual(rowOne, table.Value.AsSpan(5, 5).ToArray());
    }

    [Fact]
    public void Layer_models_save_and_load_their_parameters_under_pytorch_names()
    {
        var model = new TypedModel<IntTensor, IntTensor>(s_fortuneLstm.Value, 7);
        Assert.Equal(["embedded.weight", "encoder.weight_ih", "encoder.weight_hh", "encoder.bias_ih", "encoder.bias_hh", "logits.1.weight", "logits.1.bias"],
            model.Parameters.Select(p => p.Name));
        var random = new Random(66);
        var tokens = GradientChecker.RandomClasses(random, 8192, 4, 6);
        var labels = GradientChecker.RandomClasses(random, 4, 4);
        model.TrainStep(tokens, labels);
        string path = Path.Combine(Path.GetTempPath(), $"modeldsl-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            var restored = new TypedModel<IntTensor, IntTensor>(s_fortuneLstm.Value, 8);
            restored.Load(path);
            Assert.True(restored.Snapshot().BitEquals(model.Snapshot()), restored.Snapshot().FirstDifference(model.Snapshot()));
            Assert.True(Bits.Equal(model.ForwardCopy(tokens), restored.ForwardCopy(tokens)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_output_that_views_an_input_returns_the_input_with_the_declared_shape()
    {
        var model = GeneratedModel.Compile("""
            model View {
                input x: f32[B, 12]
                label y: f32[B, 4]
                v = x -> reshape([B, 3, 4])
                h = v -> flatten -> dense(4)
                output v
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """, "View");
        var random = new Random(67);
        var x = GradientChecker.RandomTensor(random, 2, 12);
        var v = (Tensor)model.Call("Forward", x);
        Assert.Equal(new[] { 2, 3, 4 }, v.Shape);
        Assert.True(Bits.Equal(x.Span, v.Span));
        Assert.True(float.IsFinite((float)model.Call("TrainStep", x, GradientChecker.RandomTensor(random, 2, 4))));
    }
}
