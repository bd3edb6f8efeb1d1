# resque_starter config for bench/rolling-restart.mjs's Ruby peer (ours, not resque_starter's):
# Ruby Resque workers forked from a preloaded master, under Perl start_server, with a strict
# C+1 hand-off: before forking each new worker the master waits until the old master's live
# workers plus its own are at most C (so forking makes C+1 at most); each new worker, once
# forked, tells the old master to retire one (TTOU; QUIT for the last, so that master exits).
require 'redis'
require 'redis/namespace'
require 'resque'
require_relative 'jobs'

C = Integer(ENV.fetch('CONCURRENCY', '3'))
Resque.redis = Redis::Namespace.new(ENV.fetch('RESQUE_NAMESPACE'), redis: Redis.new(url: ENV.fetch('REDIS_URL')))

concurrency C
queues ['images']
dequeue_interval Float(ENV.fetch('DEQUEUE_INTERVAL', '0.1'))

# Live (not zombie) children of pid, from /proc.
def self.children_of(pid)
  Dir.glob('/proc/[0-9]*/stat').filter_map do |f|
    s = File.read(f) rescue next
    rest = s[(s.rindex(')') + 2)..].split(' ')
    next if rest[0] == 'Z' || rest[0] == 'X'
    Integer(f.split('/')[2]) if Integer(rest[1]) == pid
  end
end

# The previous generation's master: a sibling under start_server (same parent, not us).
OLD_MASTER = children_of(Process.ppid).find { |p| p != Process.pid }

before_fork do |starter, _worker, _nr|
  next unless OLD_MASTER
  loop do
    old = (children_of(OLD_MASTER) rescue [])
    break if old.size + starter.old_workers.size <= C
    sleep 0.002
  end
end

after_fork do |starter, _worker, nr|
  next unless OLD_MASTER
  begin
    Process.kill(nr == C - 1 ? :QUIT : :TTOU, OLD_MASTER)
  rescue Errno::ESRCH
  end
end
