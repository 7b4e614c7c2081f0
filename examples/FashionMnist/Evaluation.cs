using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace FashionMnistExample;

/// <summary>
/// Mean loss and accuracy over a whole data set, in fixed batches (buffers made once). Data-parallel: each rank
/// evaluates its contiguous share of the rows and <c>reduce</c> sums (loss sum, correct, rows) over the ranks, so every
/// rank gets the whole set's figures.
/// </summary>
internal sealed class Evaluation
{
    private readonly LabeledImages _data;
    private readonly int _batchSize;
    private readonly int _start, _end;
    private readonly Action<Span<double>>? _reduce;
    private readonly Tensor _x;
    private readonly IntTensor _y;

    public Evaluation(LabeledImages data, int batchSize, Func<float[], int, Tensor>? batch = null, int rank = 0, int ranks = 1, Action<Span<double>>? reduce = null)
    {
        _data = data;
        _start = (int)((long)data.Count * rank / ranks);
        _end = (int)((long)data.Count * (rank + 1) / ranks);
        _reduce = reduce;
        _batchSize = Math.Max(1, Math.Min(batchSize, _end - _start));
        var features = new float[_batchSize * data.FeatureCount];
        _x = batch?.Invoke(features, _batchSize) ?? new Tensor(features, _batchSize, data.FeatureCount);
        _y = new IntTensor(new int[_batchSize], _batchSize);
    }

    /// <summary>Over any model and backend: <paramref name="evaluate"/> gives a batch's mean loss, <paramref name="forward"/> its logits.</summary>
    public (double Loss, double Accuracy) Run(Func<Tensor, IntTensor, float> evaluate, Func<Tensor, Tensor> forward)
    {
        double lossSum = 0;
        int correct = 0;
        for (int start = _start; start < _end; start += _batchSize)
        {
            int rows = Math.Min(_batchSize, _end - start);
            _x.SetBatch(rows);
            _y.SetBatch(rows);
            _data.Features.AsSpan(start * _data.FeatureCount, rows * _data.FeatureCount).CopyTo(_x.Data);
            _data.Labels.AsSpan(start, rows).CopyTo(_y.Data);
            lossSum += evaluate(_x, _y) * rows;
            var logits = forward(_x);
            correct += Metrics.CountCorrect(logits.Span, rows, FashionMnist.ClassCount, _y.Data.AsSpan(0, rows));
        }
        Span<double> totals = [lossSum, correct, _end - _start];
        _reduce?.Invoke(totals);
        return (totals[0] / totals[2], totals[1] / totals[2]);
    }
}
