using System;
using System.Linq;
using System.Text;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Random valid models (chains of every op with kernels, residual adds and products, rank-2 and rank-3 inputs, each
/// loss and optimizer): the generated training code of all of them compiles, trains a step to a finite loss and
/// passes a finite-difference check. Seeded, so a failure names a model that can be replayed.
/// </summary>
public sealed class RandomModelTests
{
    /// <summary>
    /// Smooth ops only: a finite difference across ReLU's kink (a pre-activation within epsilon of 0, which random
    /// tiny batches hit now and then) measures half a slope. ReLU has its own checks in GradientCheckTests.
    /// </summary>
    private static readonly string[] Activations = ["gelu", "sigmoid", "tanh", "silu", "dropout(0.2)"];

    /// <summary>The seeds of the random models (CudaParityTests trains the same ones on the emulated GPU).</summary>
    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_models_compile_train_and_match_finite_differences(int seed)
    {
        var random = new Random(seed);
        var (text, sequence, features, outputs, lossKind) = RandomModel(random, seed);

        GeneratedModel model;
        try
        {
            model = GeneratedModel.Compile(text, $"R{seed}", seed: (ulong)seed);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"model:\n{text}\n{e.Message}");
        }

        int batch = 3, steps = 4;
        int[] inShape = sequence ? [batch, steps, features] : [batch, features];
        int[] outShape = sequence ? [batch, steps, outputs] : [batch, outputs];
        var x = GradientChecker.RandomTensor(random, inShape);
        object y = lossKind switch
        {
            0 => GradientChecker.RandomTensor(random, outShape),
            1 => GradientChecker.RandomBinary(random, outShape),
            _ => GradientChecker.RandomClasses(random, outputs, sequence ? [batch, steps] : [batch]),
        };
        float first = (float)model.Call("TrainStep", x, y);
        Assert.True(float.IsFinite(first), $"loss {first} for\n{text}");
        try
        {
            GradientChecker.Check(model, [x, y], samplesPerParameter: 4);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"model:\n{text}\n{e.Message}");
        }
    }

    /// <summary>The text of random model <c>R{seed}</c> (also trained on the emulated GPU by CudaParityTests), drawn from <paramref name="random"/>.</summary>
    internal static (string Text, bool Sequence, int Features, int Outputs, int LossKind) RandomModel(Random random, int seed)
    {
        bool sequence = random.Next(2) == 0;
        int features = random.Next(2, 7), width = random.Next(2, 9), outputs = random.Next(1, 5);
        string shape = sequence ? "B, T, " : "B, ";
        var lossKind = random.Next(3);
        var body = new StringBuilder();
        body.Append($"    h0 = x -> dense({width})");
        for (int k = 0, n = random.Next(0, 3); k < n; k++) body.Append($" -> {Activations[random.Next(Activations.Length)]}");
        body.Append('\n');
        string previous = "h0";
        for (int layer = 1, layers = random.Next(1, 4); layer <= layers; layer++)
        {
            body.Append($"    a{layer} = {previous} -> dense({width}) -> {Activations[random.Next(Activations.Length)]}\n");
            body.Append(random.Next(3) switch
            {
                0 => $"    r{layer} = a{layer} + {previous}\n",     // residual
                1 => $"    r{layer} = a{layer} * {previous}\n",     // gating
                _ => $"    r{layer} = a{layer} -> tanh\n",
            });
            previous = $"r{layer}";
        }
        string final = previous;
        string label, loss;
        switch (lossKind)
        {
            case 0: label = $"label y: f32[{shape}{outputs}]"; loss = "mse(out, y)"; break;
            case 1: label = $"label y: f32[{shape}{outputs}]"; loss = "bce_with_logits(out, y)"; break;
            // Odd seeds smooth the labels; from the seed, not the generator, so every other draw stays as it was.
            default: label = $"label y: i32[{shape.TrimEnd(',', ' ')}]"; loss = seed % 2 == 0 ? "cross_entropy(out, y)" : "cross_entropy(out, y, label_smoothing=0.1)"; break;
        }
        string optimizer = random.Next(3) switch { 0 => "sgd(lr=0.05, momentum=0.9)", 1 => "adam(lr=1e-3)", _ => "adamw(lr=1e-3)" };
        string text = $"model R{seed} {{\n    input x: f32[{shape}{features}]\n    {label}\n{body}    out = {final} -> dense({outputs})\n    output out\n    loss {loss}\n    optimizer {optimizer}\n}}\n";

        return (text, sequence, features, outputs, lossKind);
    }
}
