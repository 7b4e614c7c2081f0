using System;

namespace ModelDsl.Runtime;

/// <summary>
/// The per-step learning-rate schedules of <c>schedule linear|cosine|constant(warmup=…, steps=…, floor=…)</c> in a
/// .model file: the factor the model's <c>LearningRate</c> is multiplied by for the update after <c>step</c> updates.
/// They are Hugging Face transformers' <c>get_linear_schedule_with_warmup</c>, <c>get_cosine_schedule_with_warmup</c>
/// and <c>get_constant_schedule_with_warmup</c> (the schedules BERT fine-tuning recipes use), with a floor:
/// <list type="bullet">
/// <item>warm-up, <c>step &lt; warmup</c>: <c>step / warmup</c> (so the very first update uses a rate of 0, as there);</item>
/// <item>then, with <c>progress = (step − warmup) / max(1, total − warmup)</c> clamped to [0, 1], the decay <c>d</c>:
/// linear <c>1 − progress</c>, cosine <c>½·(1 + cos(π·progress))</c>, constant 1;</item>
/// <item>the factor <c>floor + (1 − floor)·d</c>: from 1 down to <c>floor</c> at <c>total</c> steps, and <c>floor</c> after.</item>
/// </list>
/// With floor 0 and <c>step ≤ total</c> these are exactly transformers' values; past <c>total</c> its cosine would rise
/// again, and this one stays at the floor. Computed in double; the caller rounds the rate once.
/// </summary>
public static class Schedules
{
    /// <summary>The linear decay's factor; throws from the first step when <paramref name="total"/> is not set (not only after the warm-up).</summary>
    public static double Linear(int step, int warmup, int total, double floor, string source)
    {
        CheckTotal(warmup, total, source);
        return Warmup(step, warmup) ?? floor + (1 - floor) * (1 - Progress(step, warmup, total));
    }

    /// <summary>The cosine decay's factor; throws from the first step when <paramref name="total"/> is not set.</summary>
    public static double Cosine(int step, int warmup, int total, double floor, string source)
    {
        CheckTotal(warmup, total, source);
        return Warmup(step, warmup) ?? floor + (1 - floor) * 0.5 * (1 + Math.Cos(Math.PI * Progress(step, warmup, total)));
    }

    public static double Constant(int step, int warmup) => Warmup(step, warmup) ?? 1.0;

    private static double? Warmup(int step, int warmup)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return step < warmup ? (double)step / warmup : null;
    }

    private static void CheckTotal(int warmup, int total, string source)
    {
        if (total <= 0)
        {
            throw new InvalidOperationException(
                $"{source}: the schedule decays over the total number of training steps, which the .model file does not give (steps=N): "
                + "set the model's TotalSteps before training (Fit sets it to epochs × batches per epoch).");
        }
        if (total <= warmup)
            throw new InvalidOperationException($"{source}: TotalSteps ({total}) must be larger than the warm-up ({warmup}).");
    }

    private static double Progress(int step, int warmup, int total) =>
        Math.Clamp((double)(step - warmup) / Math.Max(1, total - warmup), 0, 1);
}
