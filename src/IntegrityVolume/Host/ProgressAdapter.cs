using System.Management.Automation;
using IntegrityVolume.Core;
using IntegrityVolume.Common;

using IntegrityVolume.Commands;

namespace IntegrityVolume.Host;

/// <summary>
/// Core progress → the progress stream. One ProgressRecord per cmdlet invocation, reused for every update and
/// every volume; <see cref="Complete"/> writes the Completed record that removes the bar. Core reports on the
/// pipeline thread (see <see cref="OperationProgress"/>), so WriteProgress is called directly.
/// </summary>
internal sealed class ProgressAdapter : IProgress<OperationProgress>
{
    private readonly Cmdlet _cmdlet;
    private readonly ProgressRecord _record;
    private bool _active;

    public ProgressAdapter(Cmdlet cmdlet, int activityId, string activity)
    {
        _cmdlet = cmdlet;
        _record = new ProgressRecord(activityId, activity, "Starting");
    }

    public void Report(OperationProgress value)
    {
        if (_cmdlet.Stopping) return;
        var view = ProgressModel.From(value);
        _record.Activity = view.Activity;
        _record.StatusDescription = view.Status;
        _record.PercentComplete = view.PercentComplete;
        _record.SecondsRemaining = view.SecondsRemaining;
        _record.RecordType = ProgressRecordType.Processing;
        _cmdlet.WriteProgress(_record);
        _active = true;
    }

    /// <summary>Close the bar after an operation (success or failure). No-op if nothing was shown or the pipeline is stopping.</summary>
    public void Complete()
    {
        if (!_active || _cmdlet.Stopping) return;
        _active = false;
        _record.PercentComplete = 100;
        _record.SecondsRemaining = -1;
        _record.RecordType = ProgressRecordType.Completed;
        _cmdlet.WriteProgress(_record);
    }
}
