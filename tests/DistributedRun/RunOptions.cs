using System.Globalization;

namespace ModelDsl.DistributedRun;

internal sealed record RunOptions(string Mode)
{
    public string Model { get; private set; } = "adam";
    public int Steps { get; private set; } = 20;
    public int Batch { get; private set; } = 32;
    public ulong Seed { get; private set; } = 11;
    public string? Out { get; private set; }
    public bool Distributed { get; private set; }
    public string? Checkpoint { get; private set; }
    public int SaveEvery { get; private set; }
    public bool Resume { get; private set; }
    public bool DistinctSeeds { get; private set; }
    public double? Timeout { get; private set; }
    public int DieRank { get; private set; } = -1;
    public int DieStep { get; private set; }
    public int StallRank { get; private set; } = -1;
    public int StallStep { get; private set; }
    public int Floats { get; private set; } = 269_322;
    public int Buckets { get; private set; } = 1;
    public int BucketBytes { get; private set; } = Runtime.Distributed.DataParallel.DefaultBucketBytes;
    public string Device { get; private set; } = "cpu";
    public int Rounds { get; private set; } = 5;

    public static RunOptions Parse(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("usage: DistributedRun train|dropout|bad-root [options] (see Program.cs)");
        var o = new RunOptions(args[0]);
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--model": o.Model = Next(); break;
                case "--steps": o.Steps = Int(); break;
                case "--batch": o.Batch = Int(); break;
                case "--seed": o.Seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--out": o.Out = Next(); break;
                case "--distributed": o.Distributed = true; break;
                case "--checkpoint": o.Checkpoint = Next(); break;
                case "--save-every": o.SaveEvery = Int(); break;
                case "--resume": o.Resume = true; break;
                case "--distinct-seeds": o.DistinctSeeds = true; break;
                case "--timeout": o.Timeout = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--die-rank": o.DieRank = Int(); break;
                case "--die-step": o.DieStep = Int(); break;
                case "--stall-rank": o.StallRank = Int(); break;
                case "--stall-step": o.StallStep = Int(); break;
                case "--bucket-bytes": o.BucketBytes = Int(); break;
                case "--floats": o.Floats = Int(); break;
                case "--buckets": o.Buckets = Int(); break;
                case "--rounds": o.Rounds = Int(); break;
                case "--device":
                    o.Device = Next();
                    if (o.Device is not ("cpu" or "emulated" or "cuda")) throw new ArgumentException("--device takes cpu, emulated or cuda");
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        return o;
    }
}
