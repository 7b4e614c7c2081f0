namespace ModelDsl.Runtime;

/// <summary>
/// A generated model whose <c>schedule linear|cosine(...)</c> decays over a total number of updates that the .model file
/// leaves to the caller (no <c>steps=</c>): set <see cref="TotalSteps"/> before training. <c>Fit</c> sets it, when it is
/// still 0, to epochs × batches per epoch; with <c>Trainer.Run</c> set it yourself the same way.
/// </summary>
public interface IScheduledModel
{
    /// <summary>The number of updates the schedule decays over (0: not set; a step that needs it throws).</summary>
    int TotalSteps { get; set; }
}
