using System;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>
/// The per-step learning-rate factors against values worked out by hand from transformers' get_linear/cosine/
/// constant_schedule_with_warmup (warm-up 10 steps, 110 in all, so 100 of decay).
/// </summary>
public class ScheduleTests
{
    [Theory]
    [InlineData(0, 0.0)]      // the first update: 0/10 (transformers' warm-up starts at 0 too)
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]     // warm-up done
    [InlineData(60, 0.5)]     // half-way through the decay
    [InlineData(110, 0.0)]
    [InlineData(500, 0.0)]    // past the end: the floor
    public void Linear(int step, double expected) => Assert.Equal(expected, Schedules.Linear(step, 10, 110, 0, "m"), 12);

    [Theory]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(35, 0.85355339059327373)]  // ½(1 + cos(π/4))
    [InlineData(60, 0.5)]
    [InlineData(110, 0.0)]
    [InlineData(500, 0.0)]                 // stays at the floor (transformers' cosine would rise again)
    public void Cosine(int step, double expected) => Assert.Equal(expected, Schedules.Cosine(step, 10, 110, 0, "m"), 12);

    [Fact]
    public void The_floor_is_where_the_decay_ends()
    {
        Assert.Equal(0.1, Schedules.Cosine(110, 10, 110, 0.1, "m"), 12);
        Assert.Equal(0.1 + 0.9 * 0.5, Schedules.Linear(60, 10, 110, 0.1, "m"), 12);
        Assert.Equal(0.5, Schedules.Linear(5, 10, 110, 0.1, "m"), 12); // the warm-up is not floored
    }

    [Fact]
    public void Constant_warms_up_then_holds() 
    {
        Assert.Equal(0.25, Schedules.Constant(1, 4), 12);
        Assert.Equal(1.0, Schedules.Constant(4, 4), 12);
        Assert.Equal(1.0, Schedules.Constant(1000, 0), 12);
    }

    [Fact]
    public void A_decay_without_its_total_says_what_to_set()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Schedules.Cosine(0, 10, 0, 0, "M (m.model:9)"));
        Assert.Contains("M (m.model:9): the schedule decays over the total number of training steps", e.Message);
        Assert.Contains("TotalSteps", e.Message);
        Assert.Throws<InvalidOperationException>(() => Schedules.Linear(3, 10, 10, 0, "m"));
    }
}
