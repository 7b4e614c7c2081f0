using BertClassifierExample.Bert;
using BertClassifierExample.Reviews;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace BertClassifierExample;

/// <summary>
/// The fine-tuned classifier exported to ONNX (the generated ExportOnnx: opset 20, B and T symbolic, dropout left out)
/// and run in ONNX Runtime on test reviews, batched and padded as the program batches them, against the model's own
/// outputs on its device: logits for every row, last_hidden_state at real tokens.
/// </summary>
internal static class OnnxCheck
{
    public sealed record Result(int Reviews, double LogitsDiff, double HiddenDiff);

    /// <summary>Exports <paramref name="device"/>'s model to <paramref name="path"/> and compares on up to <paramref name="count"/> reviews.</summary>
    public static Result Run(DeviceModel device, FineTuning batcher, IReadOnlyList<Review> reviews, string path, int count = 64)
    {
        device.CopyToHost();
        device.Model.ExportOnnx(path);
        var sample = reviews.Take(count).ToArray();
        // One thread: the check should not compete with anything else for the cores.
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        double logitsDiff = 0, hiddenDiff = 0;
        foreach (var rows in batcher.Batches(sample, 16))
        {
            var (ids, segment, mask, _) = batcher.Tensors(rows, sample);
            int b = ids.Shape[0], t = ids.Shape[1];
            var ours = device.ForwardAll(ids, segment, mask);
            float[] logits = ours.logits.Span.ToArray(), hidden = ours.l5_ffn_norm.Span.ToArray();
            var shape = new[] { b, t };
            var inputs = new[]
            {
                NamedOnnxValue.CreateFromTensor("ids", new DenseTensor<int>(ids.Data.ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("segment", new DenseTensor<int>(segment.Data.ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("mask", new DenseTensor<int>(mask.Data.ToArray(), shape)),
            };
            using var results = session.Run(inputs, new[] { "logits", "l5_ffn_norm" });
            var theirLogits = results[0].AsTensor<float>().ToArray();
            var theirHidden = results[1].AsTensor<float>().ToArray();
            if (theirLogits.Length != logits.Length || theirHidden.Length != hidden.Length)
                throw new InvalidDataException($"{path}: ONNX Runtime returned {theirLogits.Length} logits and {theirHidden.Length} hidden values for a batch of [{b}, {t}], not {logits.Length} and {hidden.Length}");
            for (int i = 0; i < logits.Length; i++) logitsDiff = Math.Max(logitsDiff, Math.Abs(logits[i] - theirLogits[i]));
            int d = OnnxReference.Hidden;
            for (int r = 0; r < b; r++)
                for (int k = 0; k < t; k++)
                {
                    if (mask.Data[r * t + k] == 0) continue;
                    for (int c = (r * t + k) * d, end = c + d; c < end; c++) hiddenDiff = Math.Max(hiddenDiff, Math.Abs(hidden[c] - theirHidden[c]));
                }
        }
        return new Result(sample.Length, logitsDiff, hiddenDiff);
    }
}
