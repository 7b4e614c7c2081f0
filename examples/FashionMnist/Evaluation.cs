using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace FashionMnistExample;

/// <summary>Mean loss and accuracy over a whole data set, in fixed batches (buffers made once).</summary>
internal sealed class Evaluation
{
    private readonly LabeledImages _data;
    private readonly int _batchSize;
    private readonly Tensor _x;
    private readonly IntTensor _y;

    public Evaluation(LabeledImages data, int batchSize, Func<float[], int, Tensor>? batch = null)
    {
        _data = data;
        _batchSize = Math.Min(batchSize, data.Count);
        var features = new float[_batchSize * data.FeatureCount];
        _x = batch?.Invoke(features, _batchSize) ?? new Tensor(features, _batchSize, data.FeatureCount);
        _y = new IntTensor(new int[_batchSize], _batchSize);
    }

    /// <summary>Over any model and backend: <paramref name="evaluate"/> gives a batch's mean loss, <paramref name="forward"/> its logits.</summary>
    public (double Loss, double Accuracy) Run(Func<Tensor, IntTensor, float> evaluate, Func<Tensor, Tensor> forward)
    {
        double lossSum = 0;
        int correct = 0;
        for (int start = 0; start < _data.Count; start += _batchSize)
        {
            int rows = Math.Min(_batchSize, _data.Count - start);
            _x.SetBatch(rows);
            _y.SetBatch(rows);
            _data.Features.AsSpan(start * _data.FeatureCount, rows * _data.FeatureCount).CopyTo(_x.Data);
            _data.Labels.AsSpan(start, rows).CopyTo(_y.Data);
            lossSum += evaluate(_x, _y) * rows;
            var logits = forward(_x);
            correct += Metrics.CountCorrect(logits.Span, rows, FashionMnist.ClassCount, _y.Data.AsSpan(0, rows));
        }
        return (lossSum / _data.Count, (double)correct / _data.Count);
    }
}
