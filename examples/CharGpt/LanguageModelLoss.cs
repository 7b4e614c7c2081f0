using ModelDsl.Runtime;
using ModelDsl.Runtime.Data;

namespace CharGptExample;

/// <summary>The mean next-character loss of CharGpt (on the CPU or its GPU session) over a fixed set of windows of a held-out text (dropout off).</summary>
internal sealed class LanguageModelLoss
{
    private readonly LanguageModelBatches _batches;
    private readonly IntTensor _idx;
    private readonly IntTensor _targets;
    private readonly int _rounds;

    public LanguageModelLoss(int[] text, int batchSize, int context, int windows)
    {
        _batches = new LanguageModelBatches(text, batchSize, context, seed: 12345);
        _idx = new IntTensor(_batches.Inputs, batchSize, context);
        _targets = new IntTensor(_batches.Targets, batchSize, context);
        _rounds = Math.Max(1, windows / batchSize);
    }

    public double Run(Func<IntTensor, IntTensor, float> evaluate)
    {
        _batches.Reset(); // the same windows every time, so the numbers are comparable
        double sum = 0;
        for (int i = 0; i < _rounds; i++)
        {
            _batches.Next();
            sum += evaluate(_idx, _targets);
        }
        return sum / _rounds;
    }
}
