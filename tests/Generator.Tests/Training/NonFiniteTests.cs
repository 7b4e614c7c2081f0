using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Issue 17, item 1 and the runtime part of 11: NaN and ±∞ never pass silently through generated code. Each test
/// checks the exception names the step and the culprit, and that a refused call changed nothing (parameters,
/// optimizer state and Step bit for bit as before).
/// </summary>
public sealed class NonFiniteTests
{
    private const string FashionMlpPath = "examples/FashionMnist/fashion_mlp.model";
    private const string BinaryClassifierPath = "examples/BinaryClassifier/binary_classifier.model";

    private static readonly Lazy<GeneratedModel> s_fashionMlp = new(() => GeneratedModel.CompileExample(FashionMlpPath, "FashionMlp"));
    private static readonly Lazy<GeneratedModel> s_binaryClassifier = new(() => GeneratedModel.CompileExample(BinaryClassifierPath, "BinaryClassifier"));

    private const string SgdModel = """
        model Wide {
            input x: f32[B, 1]
            label y: f32[B, 1024]
            out = x -> dense(1024)
            output out
            loss mse(out, y)
            optimizer sgd(lr=0.1)
        }
        """;

    private static readonly Lazy<GeneratedModel> s_wide = new(() => GeneratedModel.Compile(SgdModel, "Wide"));

    private static TypedModel<IntTensor> FashionMlp(ulong seed = 1) => new(s_fashionMlp.Value, seed);

    private static (Tensor X, IntTensor Y) MnistBatch(int seed = 3, int rows = 32)
    {
        var random = new Random(seed);
        return (GradientChecker.RandomTensor(random, rows, 784), GradientChecker.RandomClasses(random, 10, rows));
    }

    /// <summary>Every parameter value and optimizer state, copied: to compare "before" and "after" bit for bit.</summary>
    private static float[][] Snapshot<T>(TypedModel<T> model) where T : class =>
        model.Parameters.SelectMany(p => new[] { p.Value, p.State1, p.State2 }).Select(a => (float[])a.Clone()).ToArray();

    private static void AssertUnchanged<T>(float[][] before, TypedModel<T> model) where T : class
    {
        var after = Snapshot(model);
        Assert.Equal(before.Length, after.Length);
        for (int i = 0; i < before.Length; i++) Assert.True(before[i].AsSpan().SequenceEqual(after[i]), $"array {i} changed");
    }

    [Fact]
    public void NaN_in_an_input_is_refused_at_entry_naming_the_row_and_column_and_nothing_changes()
    {
        var model = FashionMlp();
        var (x, y) = MnistBatch();
        model.TrainStep(x, y);
        var before = Snapshot(model);
        x.Data[3 * 784 + 17] = float.NaN;

        var e = Assert.Throws<NonFiniteException>(() => model.TrainStep(x, y));
        Assert.Equal(NonFiniteSource.Input, e.Source);
        Assert.Equal("x", e.Name);
        Assert.Equal(3 * 784 + 17, e.Index);
        Assert.Equal(2, e.Step);
        Assert.Contains("FashionMlp.TrainStep (step 2): input 'x' holds NaN at row 3, column 17", e.Message);
        Assert.Equal(1, model.Step);
        AssertUnchanged(before, model);

        Assert.Contains("FashionMlp.Forward", Assert.Throws<NonFiniteException>(() => model.Forward(x)).Message);
        Assert.Contains("FashionMlp.Evaluate", Assert.Throws<NonFiniteException>(() => model.Evaluate(x, y)).Message);
    }

    [Fact]
    public void Infinity_in_a_float_target_is_refused_naming_the_label()
    {
        var model = new TypedModel<Tensor>(s_binaryClassifier.Value, 1);
        var random = new Random(5);
        var x = GradientChecker.RandomTensor(random, 16, 10);
        var y = GradientChecker.RandomBinary(random, 16, 1);
        y.Data[9] = float.PositiveInfinity;
        var before = Snapshot(model);

        var e = Assert.Throws<NonFiniteException>(() => model.TrainStep(x, y));
        Assert.Equal(NonFiniteSource.Target, e.Source);
        Assert.Contains("label 'y' holds +Infinity at row 9, column 0", e.Message);
        Assert.Equal(0, model.Step);
        AssertUnchanged(before, model);
    }

    [Fact]
    public void A_learning_rate_of_1e6_is_stopped_at_the_first_non_finite_loss_or_gradient_with_the_step_and_kernel()
    {
        // The issue's run: FashionMlp at lr=1e6 went 410 -> 2.3e26 -> NaN and trained on. Now the first step whose loss
        // or gradients are not finite throws, names its step and the kernel where the first NaN/∞ appeared, and changes nothing.
        var model = FashionMlp();
        model.LearningRate = 1e6f;
        var (x, y) = MnistBatch();
        NonFiniteException? caught = null;
        float[][] before = Snapshot(model);
        int stepBefore = 0;
        for (int i = 0; i < 20 && caught is null; i++)
        {
            before = Snapshot(model);
            stepBefore = model.Step;
            try
            {
                Assert.True(float.IsFinite(model.TrainStep(x, y)));
            }
            catch (NonFiniteException e)
            {
                caught = e;
            }
        }
        Assert.NotNull(caught);
        Assert.Contains(caught!.Source, new[] { NonFiniteSource.Loss, NonFiniteSource.Gradient, NonFiniteSource.Update });
        Assert.Equal(stepBefore + 1, caught.Step);
        Assert.Contains($"(step {stepBefore + 1})", caught.Message);
        if (caught.Source != NonFiniteSource.Update) Assert.Contains("was written by kernel", caught.Message);
        Assert.Equal(stepBefore, model.Step);
        AssertUnchanged(before, model);
        foreach (var p in model.Parameters) Assert.True(p.Value.All(float.IsFinite), p.Name);
    }

    [Fact]
    public void An_update_that_would_overflow_the_parameters_is_refused_before_anything_is_written()
    {
        // AdamW at lr=3e38: the gradients are finite, but step_size = lr / (1 − β1) overflows and every parameter would
        // become ±∞. The bound check (then the exact check) refuses the update itself.
        var model = FashionMlp();
        var (x, y) = MnistBatch();
        model.LearningRate = 3e38f;
        var before = Snapshot(model);
        var e = Assert.Throws<NonFiniteException>(() => model.TrainStep(x, y));
        Assert.Equal(NonFiniteSource.Update, e.Source);
        Assert.Equal("logits.0.weight", e.Name);
        Assert.Contains("the adamw update with learning rate 3E+38 would make 'logits.0.weight' (fashion_mlp.model:12)", e.Message);
        Assert.Equal(0, model.Step);
        AssertUnchanged(before, model);

        // The same for SGD, where p − lr·g overflows only for the elements with large enough gradients.
        var wide = new TypedModel<Tensor>(s_wide.Value, 2);
        var random = new Random(7);
        var wx = GradientChecker.RandomTensor(random, 8, 1);
        var wy = GradientChecker.RandomTensor(random, 8, 1024);
        for (int i = 0; i < wy.Length; i++) wy.Data[i] = 1e5f; // gradients of about 25 (mse over 8 × 1024 terms): 3e38 × 25 overflows
        wide.TrainStep(wx, wy);
        wide.LearningRate = 3e38f;
        var wideBefore = Snapshot(wide);
        var se = Assert.Throws<NonFiniteException>(() => wide.TrainStep(wx, wy));
        Assert.Equal(NonFiniteSource.Update, se.Source);
        Assert.Contains("the sgd update with learning rate 3E+38", se.Message);
        Assert.Equal(1, wide.Step);
        AssertUnchanged(wideBefore, wide);
    }

    [Fact]
    public void A_learning_rate_of_1e30_is_caught_at_the_next_step_before_any_update()
    {
        // Adam's first step moves each weight by about lr: 1e30 is still finite, so the step passes; the next forward
        // overflows, and that step throws before its update. The parameters are those after the first step.
        var model = FashionMlp();
        var (x, y) = MnistBatch();
        model.LearningRate = 1e30f;
        model.TrainStep(x, y);
        var before = Snapshot(model);
        var e = Assert.Throws<NonFiniteException>(() => model.TrainStep(x, y));
        Assert.Equal(2, e.Step);
        Assert.Equal(1, model.Step);
        AssertUnchanged(before, model);
    }

    [Fact]
    public void ApplyGradients_refuses_a_NaN_gradient_naming_the_parameter_its_line_and_element()
    {
        var model = FashionMlp();
        var (x, y) = MnistBatch();
        model.ComputeGradients(x, y);
        model.Parameters[2].Gradient[5] = float.NaN;
        var before = Snapshot(model);
        var apply = model.Type.GetMethod("ApplyGradients")!.CreateDelegate<Action>(model.Instance);
        var e = Assert.Throws<NonFiniteException>(apply);
        Assert.Equal(NonFiniteSource.Gradient, e.Source);
        Assert.Equal("logits.3.weight", e.Name);
        Assert.Equal("fashion_mlp.model:13", e.Location);
        Assert.Contains("the gradient of 'logits.3.weight' (fashion_mlp.model:13) holds NaN at element 5", e.Message);
        Assert.Equal(0, model.Step);
        AssertUnchanged(before, model);
    }

    [Fact]
    public void A_huge_bias_is_traced_to_the_kernel_and_model_line_where_the_first_infinity_appears()
    {
        var model = FashionMlp();
        var (x, y) = MnistBatch();
        Array.Fill(model.Parameters[1].Value, 3e38f); // logits.0.bias: finite, but the next dense layer overflows
        var e = Assert.Throws<NonFiniteException>(() => model.TrainStep(x, y));
        Assert.Contains("was written by kernel fwd_2_dense at fashion_mlp.model:13", e.Message);
    }

    [Fact]
    public void Save_and_ExportOnnx_refuse_non_finite_parameters_unless_CheckFinite_is_off()
    {
        var model = FashionMlp();
        model.Parameters[4].Value[7] = float.NegativeInfinity;
        string folder = Directory.CreateTempSubdirectory("modeldsl-nonfinite").FullName;
        try
        {
            string path = Path.Combine(folder, "m.safetensors");
            var e = Assert.Throws<NonFiniteException>(() => model.Save(path));
            Assert.Contains("FashionMlp.Save: parameter 'logits.6.weight' (fashion_mlp.model:14) holds -Infinity at element 7; refusing to save", e.Message);
            Assert.False(File.Exists(path));
            var export = model.Type.GetMethod("ExportOnnx")!.CreateDelegate<Action<string>>(model.Instance);
            Assert.Contains("refusing to export", Assert.Throws<NonFiniteException>(() => export(Path.Combine(folder, "m.onnx"))).Message);

            model.Type.GetProperty("CheckFinite")!.SetValue(model.Instance, false);
            model.Save(path);
            Assert.True(File.Exists(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void With_CheckFinite_off_nothing_is_scanned_and_NaN_flows_through_as_before()
    {
        var model = FashionMlp();
        model.Type.GetProperty("CheckFinite")!.SetValue(model.Instance, false);
        var (x, y) = MnistBatch();
        x.Data[0] = float.NaN;
        Assert.True(float.IsNaN(model.TrainStep(x, y)));
        Assert.Equal(1, model.Step);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(-1f)]
    [InlineData(float.PositiveInfinity)]
    public void LearningRate_rejects_NaN_negative_and_infinite_values(float value)
    {
        var model = FashionMlp();
        var property = model.Type.GetProperty("LearningRate")!;
        var set = property.SetMethod!.CreateDelegate<Action<float>>(model.Instance);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => set(value));
        Assert.Contains("FashionMlp.LearningRate must be finite and >= 0, but was " + value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Equal(1e-3f, model.LearningRate);
        set(0f); // zero freezes the parameters: allowed
        Assert.Equal(0f, model.LearningRate);
    }

    [Fact]
    public void Names_the_checks_use_in_generated_code_stay_free_for_model_values_and_symbols()
    {
        // Prepare's `step`, the public methods' `call`, the workspace constructor's `binding`, the trace's `trace` local
        // and `Trace` field: a model using these names builds, trains and is still checked.
        const string text = """
            model Names {
                input step: f32[call, 3]
                label trace: f32[call, 2]
                binding = step -> dense(4) -> relu
                Trace = binding -> dense(2)
                output Trace
                loss mse(Trace, trace)
                optimizer sgd(lr=0.1)
            }
            """;
        var model = new TypedModel<Tensor>(GeneratedModel.Compile(text, "Names"), 1);
        var random = new Random(9);
        var x = GradientChecker.RandomTensor(random, 5, 3);
        var y = GradientChecker.RandomTensor(random, 5, 2);
        Assert.True(float.IsFinite(model.TrainStep(x, y)));
        y.Data[3] = float.NaN;
        Assert.Contains("label 'trace' holds NaN at row 1, column 1", Assert.Throws<NonFiniteException>(() => model.TrainStep(x, y)).Message);
    }

    [Fact]
    public void A_batch_too_large_for_an_array_names_the_batch_size_and_the_buffer()
    {
        // Wide's hidden buffer is [B, 1024]: B = 2^22 needs 2^32 elements, more than an array holds.
        var wide = s_wide.Value;
        var forward = wide.Method("Forward").CreateDelegate<Func<Tensor, Tensor>>(wide.NewInstance(1));
        var x = new Tensor(new float[1 << 22], 1 << 22, 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => forward(x));
        Assert.Contains("Wide: B = 4194304 makes buffer 'out", e.Message);
        Assert.Contains("[B, 1024] 4294967296 elements, more than one array can hold", e.Message);
    }
}
