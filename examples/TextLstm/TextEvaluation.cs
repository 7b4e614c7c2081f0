using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace TextLstmExample;

/// <summary>Mean loss and accuracy of FortuneLstm (on the CPU or its GPU session) over a whole split, in fixed batches (buffers made once).</summary>
internal sealed class TextEvaluation
{
    private readonly TokenizedTexts _data;
    private readonly int _batchSize;
    private readonly IntTensor _tokens;
    private readonly IntTensor _labels;

    public TextEvaluation(TokenizedTexts data, int batchSize)
    {
        _data = data;
        _batchSize = Math.Min(batchSize, data.Count);
        _tokens = new IntTensor(new int[_batchSize * data.Length], _batchSize, data.Length);
        _labels = new IntTensor(new int[_batchSize], _batchSize);
    }

    public (double Loss, double Accuracy) Run(Func<IntTensor, IntTensor, float> evaluate, Func<IntTensor, IntTensor> predict)
    {
        double lossSum = 0;
        int correct = 0;
        for (int start = 0; start < _data.Count; start += _batchSize)
        {
            int rows = Math.Min(_batchSize, _data.Count - start);
            _tokens.SetBatch(rows);
            _labels.SetBatch(rows);
            _data.Tokens.AsSpan(start * _data.Length, rows * _data.Length).CopyTo(_tokens.Data);
            _data.Labels.AsSpan(start, rows).CopyTo(_labels.Data);
            lossSum += evaluate(_tokens, _labels) * rows;
            var predicted = predict(_tokens);
            for (int r = 0; r < rows; r++) correct += predicted.Data[r] == _labels.Data[r] ? 1 : 0;
        }
        return (lossSum / _data.Count, (double)correct / _data.Count);
    }
}
