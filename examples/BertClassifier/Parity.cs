using System.Diagnostics;
using System.Globalization;
using BertClassifierExample.Bert;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace BertClassifierExample;

/// <summary>
/// <c>--parity sentences.txt</c>: the imported encoder (bert_classifier.model's second output, last_hidden_state, with
/// the weights its pretrained block maps, on the <c>--device</c>) against the original model.onnx in ONNX Runtime, on
/// the same batches: the sentences in file order, batches of <c>--batch</c>, each padded to its longest sentence, so
/// lengths vary within a batch and T from batch to batch.
/// Compares last_hidden_state at real tokens (padding rows are undefined in both and are not compared).
/// </summary>
internal static class Parity
{
    public static int Run(WordPiece wordPiece, IReadOnlyList<string> sentences, Options options, string weights, GpuContext? gpu)
    {
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"device: {gpu?.DeviceName ?? "CPU"}");
        var model = new BertClassifier((ulong)options.Seed);
        Console.WriteLine($"weights: {model.LoadPretrained(weights)}");
        using var encoder = new DeviceModel(model, gpu);
        using var reference = new OnnxReference(MiniLmPackage.ModelOnnx());

        double max = 0;
        long tokens = 0;
        int shortest = int.MaxValue, longest = 0;
        for (int start = 0; start < sentences.Count; start += options.BatchSize)
        {
            var chunk = sentences.Skip(start).Take(options.BatchSize).ToArray();
            var batch = wordPiece.Batch(chunk, options.MaxLength);
            var ours = encoder.ForwardAll(new IntTensor(batch.InputIds, batch.Count, batch.Length), new IntTensor(batch.TokenTypeIds, batch.Count, batch.Length),
                new IntTensor(batch.AttentionMask, batch.Count, batch.Length)).l5_ffn_norm;
            var theirs = reference.LastHiddenState(batch);
            for (int row = 0; row < batch.Count; row++)
            {
                int real = batch.Tokens(row);
                shortest = Math.Min(shortest, real);
                longest = Math.Max(longest, real);
                tokens += real;
                int from = row * batch.Length * OnnxReference.Hidden;
                for (int i = from; i < from + real * OnnxReference.Hidden; i++)
                    max = Math.Max(max, Math.Abs(ours.Data[i] - theirs[i]));
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compared last_hidden_state at {tokens:N0} real tokens: sentences of {shortest} to {longest} tokens, batches of up to {options.BatchSize} padded to their longest ({clock.Elapsed.TotalSeconds:F1} s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"onnxruntime parity: max abs diff {max:E2} over {sentences.Count} sentences"));
        return 0;
    }
}
