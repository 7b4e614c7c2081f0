using System;
using ModelDsl.Runtime.Data;

namespace ModelDsl.Runtime.Sampling;

/// <summary>
/// Picks the next token from a model's logits over its vocabulary:
/// <list type="bullet">
/// <item><see cref="Temperature"/> 0 is greedy decoding: the highest logit, the lowest id on ties; no randomness.</item>
/// <item>Otherwise a draw from softmax(logits / temperature), restricted to the <see cref="TopK"/> highest logits
/// (0 = no restriction). Below 1 the temperature sharpens the distribution, above 1 flattens it; top-k cuts the long
/// tail of unlikely tokens that makes a character model's samples drift into noise.</item>
/// </list>
/// Draws come from SplitMix64 seeded by <see cref="Seed"/>, so a seed gives the same text on every machine and .NET
/// version; <see cref="Reset"/> replays it. Scratch buffers grow to the vocabulary once, so sampling allocates nothing
/// after the first call. Not thread-safe: one sampler per generating thread.
/// </summary>
public sealed class TokenSampler
{
    private SplitMix64 _rng;
    private float[] _scratch = [];
    private double[] _weights = [];

    /// <param name="temperature">0 for greedy, else a finite positive divisor of the logits.</param>
    /// <param name="topK">Keep the k highest logits (ties broken towards lower ids); 0 keeps all.</param>
    /// <param name="seed">Fixes the sequence of draws.</param>
    public TokenSampler(float temperature = 1f, int topK = 0, int seed = 0)
    {
        if (!float.IsFinite(temperature) || temperature < 0)
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature,
                "temperature must be a finite number ≥ 0 (0 = greedy, 1 = the model's own distribution)");
        if (topK < 0)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "topK must be ≥ 0 (0 = sample from the whole vocabulary)");
        Temperature = temperature;
        TopK = topK;
        Seed = seed;
        Reset();
    }

    public float Temperature { get; }

    public int TopK { get; }

    public int Seed { get; }

    public bool IsGreedy => Temperature == 0;

    /// <summary>Restarts the sequence of draws from <see cref="Seed"/>.</summary>
    public void Reset() => _rng = new SplitMix64(new SplitMix64((ulong)(uint)Seed ^ 0x5A4D504C45UL).Next());

    /// <summary>
    /// The id of the chosen token. Logits must be finite or −∞ (a masked token); NaN or +∞ is an
    /// <see cref="ArgumentException"/> naming the index, since it means the model has diverged.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        int best = Validate(logits);
        if (IsGreedy) return best;

        int n = logits.Length;
        int k = TopK == 0 || TopK >= n ? n : TopK;
        float max = logits[best];
        // With top-k, a token is kept when its logit beats the k-th largest, or equals it while places remain.
        float threshold = k == n ? float.NegativeInfinity : KthLargest(logits, k);
        int above = 0;
        if (k < n)
            foreach (float l in logits) if (l > threshold) above++;
        int tiesLeft = k - above;

        if (_weights.Length < n) _weights = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float l = logits[i];
            bool kept = k == n || l > threshold || (l == threshold && tiesLeft-- > 0);
            // Shifted by the maximum so exp never overflows; −∞ gives weight 0.
            double w = kept ? Math.Exp((l - (double)max) / Temperature) : 0;
            _weights[i] = w;
            total += w;
        }

        double u = NextDouble() * total;
        int last = best;
        for (int i = 0; i < n; i++)
        {
            double w = _weights[i];
            if (w == 0) continue;
            if (u < w) return i;
            u -= w;
            last = i;
        }
        return last; // rounding left u at the very top: the last kept token
    }

    /// <summary>The index of the largest logit (lowest on ties), after checking every logit.</summary>
    private static int Validate(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty)
            throw new ArgumentException("logits are empty: pass one logit per vocabulary entry", nameof(logits));
        int best = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float l = logits[i];
            if (float.IsNaN(l) || float.IsPositiveInfinity(l))
                throw new ArgumentException($"logits[{i}] is {(float.IsNaN(l) ? "NaN" : "+∞")}; logits must be finite or −∞ (has the model diverged?)", nameof(logits));
            if (l > logits[best]) best = i;
        }
        if (float.IsNegativeInfinity(logits[best]))
            throw new ArgumentException("every logit is −∞: no token can be sampled", nameof(logits));
        return best;
    }

    // Uniform in [0, 1) with 53 random bits.
    private double NextDouble() => (_rng.Next() >> 11) * (1.0 / (1UL << 53));

    // The k-th largest value (1-based) by quickselect on a scratch copy: O(n), and deterministic (median of three).
    private float KthLargest(ReadOnlySpan<float> logits, int k)
    {
        if (_scratch.Length < logits.Length) _scratch = new float[logits.Length];
        Span<float> a = _scratch.AsSpan(0, logits.Length);
        logits.CopyTo(a);
        int target = k - 1, lo = 0, hi = a.Length - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            // Order a[lo] >= a[mid] >= a[hi] and use a[mid] as the pivot (descending order throughout).
            if (a[mid] > a[lo]) (a[mid], a[lo]) = (a[lo], a[mid]);
            if (a[hi] > a[lo]) (a[hi], a[lo]) = (a[lo], a[hi]);
            if (a[hi] > a[mid]) (a[hi], a[mid]) = (a[mid], a[hi]);
            float pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] > pivot) i++;
                while (a[j] < pivot) j--;
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            // Now a[lo..j] >= pivot >= a[i..hi], and anything between equals the pivot.
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return a[target];
        }
        return a[target];
    }
}
