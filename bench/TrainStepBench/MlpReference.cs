using ModelDsl.Runtime;

namespace TrainStepBench;

/// <summary>The benchmark MLP's forward (784-256-256-10, ReLU) in float64, from its parameters, to check the peers' outputs.</summary>
internal static class MlpReference
{
    /// <summary>Logits [batch, 10] of <paramref name="x"/> [batch, 784]; parameters in checkpoint order (W0, b0, W1, b1, W2, b2).</summary>
    public static double[] Logits(IReadOnlyList<Parameter> parameters, ReadOnlySpan<float> x, int batch)
    {
        double[] h = new double[batch * 784];
        for (int i = 0; i < h.Length; i++) h[i] = x[i];
        int width = 784;
        for (int layer = 0; layer < 3; layer++)
        {
            var w = parameters[2 * layer];
            var bias = parameters[2 * layer + 1].Value;
            int outs = w.Shape[0];
            var next = new double[batch * outs];
            for (int r = 0; r < batch; r++)
            {
                for (int o = 0; o < outs; o++)
                {
                    double s = bias[o];
                    for (int i = 0; i < width; i++) s += h[r * width + i] * w.Value[o * width + i];
                    next[r * outs + o] = layer < 2 ? Math.Max(0, s) : s;
                }
            }
            h = next;
            width = outs;
        }
        return h;
    }

    public static double RelativeError(ReadOnlySpan<float> actual, double[] reference)
    {
        double worst = 0, scale = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(actual[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        return worst / scale;
    }
}
