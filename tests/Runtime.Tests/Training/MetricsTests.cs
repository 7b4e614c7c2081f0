namespace ModelDsl.Runtime.Tests.Training;

public class MetricsTests
{
    [Fact]
    public void CountCorrect_compares_argmax_with_labels()
    {
        float[] logits =
        [
            0.1f, 0.9f, 0.0f,   // argmax 1
            5f, -1f, 2f,        // argmax 0
            1f, 1f, 0f,         // tie: the first index wins, 0
            -3f, -2f, -1f,      // argmax 2
        ];
        Assert.Equal(4, Metrics.CountCorrect(logits, 4, 3, [1, 0, 0, 2]));
        Assert.Equal(1, Metrics.CountCorrect(logits, 4, 3, [1, 2, 1, 0]));
        Assert.Equal(2, Metrics.CountCorrect(logits, 2, 3, [1, 0, 9, 9]));   // only the first rows count
        Assert.Throws<System.ArgumentException>(() => Metrics.CountCorrect(logits, 5, 3, [0, 0, 0, 0, 0]));
    }

    [Fact]
    public void CountCorrectBinary_thresholds_predictions_and_targets()
    {
        Assert.Equal(3, Metrics.CountCorrectBinary([0.9f, 0.2f, 0.5f, 0.7f], [1f, 0f, 0f, 0f], 0.5f));
        Assert.Equal(2, Metrics.CountCorrectBinary([2f, -1f, 0f], [1f, 1f, 0f], 0f));   // logits against 0
        Assert.Throws<System.ArgumentException>(() => Metrics.CountCorrectBinary([1f], [1f, 0f], 0.5f));
    }
}
