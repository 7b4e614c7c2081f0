using System;

namespace ModelDsl.Runtime.Cpu.Layers;

// global_avg_pool2d (GlobalAvgPool2d) / global_max_pool2d (GlobalMaxPool2d), NCHW: x [N, C, H, W] viewed as [planes = N·C, area = H·W] → y [planes]
// (the generated code passes y as [N, C]).
//   average: y[p] = Σ x[p, :] / area, summed in plane order in float (the CUDA kernel sums in the same order, so the
//            two agree to the last bit);   backward: dx[p, :] (+)= dy[p] / area.
//   max:     y[p] = max x[p, :], the first winner on ties, a NaN wins (propagates); indices[p] = the winner's index in
//            the plane;   backward: dx[p, indices[p]] (+)= dy[p], the other elements (+)= 0.
// One pass over the input, planes in order; no allocation.
public static class GlobalAvgPool2d
{
    /// <summary><c>y[p] = mean(x[p, :])</c> over <paramref name="planes"/> planes of <paramref name="area"/> elements.</summary>
    public static void Forward(int planes, int area, ReadOnlySpan<float> x, Span<float> y)
    {
        GlobalPool2dArgs.Check(planes, area, x.Length, y.Length, "x", "y");
        float scale = 1f / area;
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * area, area);
            float sum = 0f;
            for (int i = 0; i < plane.Length; i++) sum += plane[i];
            y[p] = sum * scale;
        }
    }

    /// <summary><c>dx[p, :] (+)= dy[p] / area</c>.</summary>
    public static void Backward(int planes, int area, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate = false)
    {
        GlobalPool2dArgs.Check(planes, area, dx.Length, dy.Length, "dx", "dy");
        float scale = 1f / area;
        for (int p = 0; p < planes; p++)
        {
            var plane = dx.Slice(p * area, area);
            float d = dy[p] * scale;
            if (accumulate) for (int i = 0; i < plane.Length; i++) plane[i] += d;
            else plane.Fill(d);
        }
    }
}

public static class GlobalMaxPool2d
{
    /// <summary><c>y[p] = max(x[p, :])</c>, the winner's in-plane index written to <paramref name="indices"/> for <see cref="Backward"/>.</summary>
    public static void Forward(int planes, int area, ReadOnlySpan<float> x, Span<float> y, Span<int> indices)
    {
        GlobalPool2dArgs.Check(planes, area, x.Length, y.Length, "x", "y");
        LayerArgs.Length(indices.Length, nameof(indices), "[N·C]", planes);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * area, area);
            int best = 0;
            float value = plane[0];
            for (int i = 1; i < plane.Length; i++)
            {
                float v = plane[i];
                if (v > value || (float.IsNaN(v) && !float.IsNaN(value)))
                {
                    value = v;
                    best = i;
                }
            }
            y[p] = value;
            indices[p] = best;
        }
    }

    /// <summary><c>dx[p, indices[p]] (+)= dy[p]</c>; without <paramref name="accumulate"/> the other elements are zeroed.</summary>
    public static void Backward(int planes, int area, ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, Span<float> dx, bool accumulate = false)
    {
        GlobalPool2dArgs.Check(planes, area, dx.Length, dy.Length, "dx", "dy");
        LayerArgs.Length(indices.Length, nameof(indices), "[N·C]", planes);
        if (!accumulate) dx.Slice(0, planes * area).Clear();
        for (int p = 0; p < planes; p++)
        {
            int winner = indices[p];
            if ((uint)winner >= (uint)area) throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{p}] = {winner} is outside a plane of {area} elements");
            dx[p * area + winner] += dy[p];
        }
    }
}

/// <summary>The size checks both take.</summary>
internal static class GlobalPool2dArgs
{
    public static void Check(int planes, int area, int planeLength, int pooledLength, string planeName, string pooledName)
    {
        LayerArgs.Positive(planes, nameof(planes));
        LayerArgs.Positive(area, nameof(area));
        LayerArgs.Length(planeLength, planeName, "[N·C, H·W]", planes, area);
        LayerArgs.Length(pooledLength, pooledName, "[N·C]", planes);
    }
}
