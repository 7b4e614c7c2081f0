using System;

namespace ModelDsl.Runtime.Cpu;

/// <summary>
/// The losses a .model file can declare, each computing the mean loss and (optionally) its gradient with respect to
/// the prediction in the same pass. Cross-entropy lives in <see cref="Reductions.SoftmaxCrossEntropy"/>.
/// </summary>
public static class Losses
{
    /// <summary>
    /// Binary cross-entropy on logits, mean over all elements, in the stable form
    /// <c>max(z, 0) − z·t + log(1 + e^{−|z|})</c>; gradient <c>(σ(z) − t) / n</c>.
    /// </summary>
    public static float BceWithLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient, bool withGradient)
    {
        int n = logits.Length;
        if (targets.Length < n) throw new ArgumentException($"targets has {targets.Length} elements but the prediction has {n}.", nameof(targets));
        if (n == 0) return 0f;
        double total = 0;
        float scale = 1f / n;
        for (int i = 0; i < n; i++)
        {
            float z = logits[i], t = targets[i];
            total += MathF.Max(z, 0f) - z * t + MathF.Log(1f + MathF.Exp(-MathF.Abs(z)));
            if (withGradient) gradient[i] = (Activations.Sigmoid(z) - t) * scale;
        }
        return (float)(total / n);
    }

    /// <summary>Mean squared error over all elements; gradient <c>2(p − t) / n</c>.</summary>
    public static float Mse(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool withGradient)
    {
        int n = predictions.Length;
        if (targets.Length < n) throw new ArgumentException($"targets has {targets.Length} elements but the prediction has {n}.", nameof(targets));
        if (n == 0) return 0f;
        double total = 0;
        float scale = 2f / n;
        for (int i = 0; i < n; i++)
        {
            float d = predictions[i] - targets[i];
            total += d * d;
            if (withGradient) gradient[i] = d * scale;
        }
        return (float)(total / n);
    }
}
