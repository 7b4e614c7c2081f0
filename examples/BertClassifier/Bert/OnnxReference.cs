using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace BertClassifierExample.Bert;

/// <summary>
/// The original all-MiniLM-L6-v2 <c>model.onnx</c> in ONNX Runtime: the reference the imported encoder is checked
/// against. Inputs input_ids, attention_mask, token_type_ids (int64 [batch, seq]); output last_hidden_state
/// [batch, seq, 384].
/// </summary>
internal sealed class OnnxReference : IDisposable
{
    public const int Hidden = 384;
    private readonly InferenceSession _session;

    public OnnxReference(byte[] modelOnnx, int threads = 1)
    {
        // One intra-op thread by default: the reference should not compete with the run it checks for the two cores.
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        _session = new InferenceSession(modelOnnx, options);
    }

    /// <summary>last_hidden_state of the batch, [Count, Length, 384] row-major.</summary>
    public float[] LastHiddenState(BertBatch batch)
    {
        var shape = new[] { batch.Count, batch.Length };
        static DenseTensor<long> Long(int[] values, int[] shape) => new(values.Select(v => (long)v).ToArray(), shape);
        var inputs = new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", Long(batch.InputIds, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", Long(batch.AttentionMask, shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", Long(batch.TokenTypeIds, shape)),
        };
        using var results = _session.Run(inputs, new[] { "last_hidden_state" });
        var output = results[0].AsTensor<float>();
        if (output.Dimensions.Length != 3 || output.Dimensions[0] != batch.Count || output.Dimensions[1] != batch.Length || output.Dimensions[2] != Hidden)
            throw new InvalidDataException($"model.onnx returned last_hidden_state of shape [{string.Join(", ", output.Dimensions.ToArray())}], not [{batch.Count}, {batch.Length}, {Hidden}]");
        return output.ToArray();
    }

    public void Dispose() => _session.Dispose();
}
