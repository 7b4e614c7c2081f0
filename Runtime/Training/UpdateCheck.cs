using System;

namespace ModelDsl.Runtime;

/// <summary>
/// The exact form of the update check (<see cref="ModelGuard"/>'s last resort): the optimizer's arithmetic, element by
/// element, with the same float operations as the scalar loops of <see cref="Optimizers"/>, writing nothing. Returns
/// the first element whose new value, or new optimizer state, would be NaN or ±∞, with that value; (-1, 0) when all
/// are finite. As slow as the optimizer itself: it runs only when the cheap bounds cannot rule overflow out.
/// </summary>
internal static class UpdateCheck
{
    public static (int Index, float Value) Sgd(float[] p, float[] g, float[] velocity, float lr, float momentum, float weightDecay, bool nesterov)
    {
        for (int i = 0; i < p.Length; i++)
        {
            float pv = p[i];
            float d = g[i] + weightDecay * pv;
            if (momentum != 0)
            {
                float b = momentum * velocity[i] + d;
                if (!float.IsFinite(b)) return (i, b);
                d = nesterov ? d + momentum * b : b;
            }
            float next = pv - lr * d;
            if (!float.IsFinite(next)) return (i, next);
        }
        return (-1, 0f);
    }

    public static (int Index, float Value) Adam(float[] p, float[] g, float[] m, float[] v, float lr, float beta1, float beta2, float eps, float l2, float decay, int step)
    {
        float stepSize = (float)(lr / (1.0 - Math.Pow(beta1, step)));
        float bc2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(beta2, step));
        float oneMinusB1 = 1f - beta1;
        float oneMinusB2 = 1f - beta2;
        for (int i = 0; i < p.Length; i++)
        {
            float pv = p[i];
            float d = g[i] + l2 * pv;
            float mv = m[i];
            mv += oneMinusB1 * (d - mv);
            float vv = beta2 * v[i] + oneMinusB2 * (d * d);
            if (!float.IsFinite(mv)) return (i, mv);
            if (!float.IsFinite(vv)) return (i, vv);
            float denom = MathF.Sqrt(vv) / bc2Sqrt + eps;
            float next = pv * decay - stepSize * (mv / denom);
            if (!float.IsFinite(next)) return (i, next);
        }
        return (-1, 0f);
    }

    public static (int Index, float Value) Rmsprop(float[] p, float[] g, float[] squareAvg, float[] second, float lr, float alpha, float eps, float weightDecay, float momentum, bool centered)
    {
        float oneMinusAlpha = 1f - alpha;
        for (int i = 0; i < p.Length; i++)
        {
            float pv = p[i];
            float d = g[i] + weightDecay * pv;
            float sq = alpha * squareAvg[i] + oneMinusAlpha * (d * d);
            if (!float.IsFinite(sq)) return (i, sq);
            float avg;
            if (centered)
            {
                float ga = second[i];
                ga += oneMinusAlpha * (d - ga);
                if (!float.IsFinite(ga)) return (i, ga);
                avg = MathF.Sqrt(MathF.Max(sq - ga * ga, 0f)) + eps;
            }
            else avg = MathF.Sqrt(sq) + eps;
            float next;
            if (momentum != 0)
            {
                float b = momentum * second[i] + d / avg;
                if (!float.IsFinite(b)) return (i, b);
                next = pv - lr * b;
            }
            else next = pv - lr * (d / avg);
            if (!float.IsFinite(next)) return (i, next);
        }
        return (-1, 0f);
    }
}
