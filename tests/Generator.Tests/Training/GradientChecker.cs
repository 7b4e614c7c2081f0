using System;
using System.Linq;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// Finite-difference checks of generated backward code. The loss is recomputed through the same generated
/// <c>ComputeGradients</c> (dropout masks depend only on the seed and step, which do not change, so the function is
/// deterministic). Two checks: sampled single elements (central differences, per-element tolerance) and a
/// directional derivative along a random direction over all parameters at once, which sums out float noise.
/// </summary>
internal static class GradientChecker
{
    public static void Check(GeneratedModel model, object[] batch, int samplesPerParameter = 8, float epsilon = 3e-3f, float relativeTolerance = 3e-2f, float absoluteTolerance = 1.5e-3f)
    {
        float Loss() => (float)model.Call("ComputeGradients", batch);

        float baseLoss = Loss();
        Assert.True(float.IsFinite(baseLoss), $"loss is {baseLoss}");
        var parameters = model.Parameters;
        var analytic = parameters.Select(p => (float[])p.Gradient.Clone()).ToList();
        Assert.Contains(analytic, g => g.Any(v => v != 0f));

        var random = new Random(12345);
        var failures = new System.Collections.Generic.List<string>();
        for (int k = 0; k < parameters.Count; k++)
        {
            var p = parameters[k];
            int samples = (int)Math.Min(samplesPerParameter, p.Length);
            for (int s = 0; s < samples; s++)
            {
                int i = random.Next((int)p.Length);
                float original = p.Value[i];
                // Writes to Value from outside the model are announced (Parameter.MarkChanged): the forward
                // multiplies by a packed copy of the weights made once per version.
                p.Value[i] = original + epsilon;
                p.MarkChanged();
                double plus = Loss();
                p.Value[i] = original - epsilon;
                p.MarkChanged();
                double minus = Loss();
                p.Value[i] = original;
                p.MarkChanged();
                double numeric = (plus - minus) / (2 * epsilon);
                double exact = analytic[k][i];
                double allowed = absoluteTolerance + relativeTolerance * Math.Max(Math.Abs(numeric), Math.Abs(exact));
                if (Math.Abs(numeric - exact) > allowed)
                    failures.Add($"{p.Name}[{i}]: backward {exact:G6}, finite difference {numeric:G6}");
            }
        }
        Assert.True(failures.Count == 0, "gradient mismatches:\n" + string.Join("\n", failures));

        // Directional derivative: d/dt L(θ + t·d) at 0 equals Σ g·d.
        var direction = parameters.Select(p => Enumerable.Range(0, (int)p.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToList();
        // A unit-length direction: the step then moves the parameters by epsilon in total, however many there are.
        double norm = Math.Sqrt(direction.Sum(d => d.Sum(v => (double)v * v)));
        foreach (var d in direction)
            for (int i = 0; i < d.Length; i++) d[i] = (float)(d[i] / norm);
        double predicted = 0;
        for (int k = 0; k < parameters.Count; k++)
            for (int i = 0; i < parameters[k].Length; i++) predicted += analytic[k][i] * direction[k][i];
        var originals = parameters.Select(p => (float[])p.Value.Clone()).ToList();
        void Shift(float t)
        {
            for (int k = 0; k < parameters.Count; k++)
            {
                for (int i = 0; i < parameters[k].Length; i++) parameters[k].Value[i] = originals[k][i] + t * direction[k][i];
                parameters[k].MarkChanged();
            }
        }
        Shift(epsilon);
        double up = Loss();
        Shift(-epsilon);
        double down = Loss();
        Shift(0);
        double measured = (up - down) / (2 * epsilon);
        Assert.True(Math.Abs(measured - predicted) <= absoluteTolerance + relativeTolerance * Math.Abs(measured),
            $"directional derivative: backward predicts {predicted:G6}, finite difference {measured:G6}");
    }

    public static Tensor RandomTensor(Random random, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        return new Tensor(Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape);
    }

    public static IntTensor RandomClasses(Random random, int classes, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        return new IntTensor(Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray(), shape);
    }

    public static Tensor RandomBinary(Random random, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        return new Tensor(Enumerable.Range(0, n).Select(_ => (float)random.Next(2)).ToArray(), shape);
    }
}
